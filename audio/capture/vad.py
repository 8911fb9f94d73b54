"""Voice activity detection with Silero VAD (the model ships inside the `silero-vad` package).

Two uses:
- `speech_segments(audio)`: where the speech is in a finished utterance (the ASR hallucination
  guard and trimming). Uses Silero's batched "sequence" ONNX model: one call per 16 s block,
  about 10 ms for 5 s of audio on 2 cores, bit-exact with the streaming model.
- `StreamingVad`: speech start / end of speech in a live stream (hands-free turns). Feeds the
  streaming ONNX model 512-sample (32 ms) windows and keeps its state between calls.

Audio is 16 kHz mono float32. Models load lazily, once per process, on first use.
"""
from __future__ import annotations

import sys
import threading
from dataclasses import dataclass

import numpy as np

from assistant.errors import ModelError

RATE = 16000
WINDOW = 512  # samples per streaming-model step (32 ms at 16 kHz)

_lock = threading.Lock()
_sequence_model = None


def _silero():
    """The `silero_vad` module. Importing it calls `torch.set_num_threads(1)` for the whole
    process (its model module does so at import), which made Whisper's encoder and every other
    torch model run on one core once the VAD had loaded (tiny.en's encoder at 10 s: 67 -> 100 ms
    on 2 cores). The thread count is put back as it was; Silero's own ONNX sessions are
    single-threaded anyway."""
    if "silero_vad" in sys.modules:
        return sys.modules["silero_vad"]
    import torch

    threads = torch.get_num_threads()
    try:
        import silero_vad
    except ImportError as exc:
        raise ModelError("Silero VAD is not installed",
                         "Install it with `pip install silero-vad` (it includes the model)") from exc
    finally:
        torch.set_num_threads(threads)
    return silero_vad


def _load(**kwargs):
    return _silero().load_silero_vad(**kwargs)


def _sequence():
    global _sequence_model
    with _lock:
        if _sequence_model is None:
            _sequence_model = _load(sequence=True)
        return _sequence_model


CONTEXT = 64  # samples of the previous window the model sees before each one
BLOCK = 512  # windows per call of the sequence model
RESUME_MAX_S = 60.0  # the longest utterance whose windows are kept for the next call


@dataclass
class _Resume:
    """The whole windows of the last audio analyzed: their samples, speech probabilities and
    the model's state after them. A push-to-talk utterance is analyzed again and again as it
    grows (each partial transcript, then the final one); when the new audio starts with these
    samples, only the windows after them are computed (at release: the last half second, not
    the whole question)."""

    samples: np.ndarray
    probs: np.ndarray
    hidden: np.ndarray
    cell: np.ndarray


_resume: _Resume | None = None
windows_run = 0  # windows the sequence model has analyzed in this process (diagnostics)


def _run(session, audio: np.ndarray, first: int, hidden: np.ndarray, cell: np.ndarray
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Speech probabilities of the whole windows of `audio` from window `first` on, each
    with the `CONTEXT` samples before it (zeros before the start), and the state after them."""
    global windows_run
    frames = audio[first * WINDOW: audio.size // WINDOW * WINDOW].reshape(-1, WINDOW)
    context = np.empty((len(frames), CONTEXT), np.float32)
    if len(frames):
        start = first * WINDOW
        context[0] = audio[start - CONTEXT: start] if first else 0.0
        context[1:] = frames[:-1, -CONTEXT:]
    probs = [np.zeros(0, np.float32)]
    rows = np.concatenate((context, frames), axis=1)
    for at in range(0, len(rows), BLOCK):
        values, hidden, cell = session.run(["speech_probs", "hn", "cn"],
                                           {"input": rows[at: at + BLOCK], "h": hidden,
                                            "c": cell})
        probs.append(np.asarray(values, np.float32).reshape(-1))
    windows_run += len(rows)
    return np.concatenate(probs), hidden, cell


def speech_probs(audio: np.ndarray) -> np.ndarray:
    """Silero's speech probability for each 32 ms window of 16 kHz `audio` (the last one
    padded with zeros), as its sequence model gives them; resumes from the last call's windows
    when `audio` starts with them (see `_Resume`)."""
    global _resume
    audio = np.ascontiguousarray(audio, dtype=np.float32).reshape(-1)
    whole = audio.size // WINDOW
    session = _sequence().session
    with _lock:
        last = _resume
        first, hidden = 0, np.zeros((1, 1, 128), np.float32)
        cell, done = hidden, np.zeros(0, np.float32)
        if last is not None and len(last.probs) <= whole \
                and np.array_equal(audio[: last.samples.size], last.samples):
            first, hidden, cell, done = len(last.probs), last.hidden, last.cell, last.probs
        probs, hidden, cell = _run(session, audio, first, hidden, cell)
        probs = np.concatenate((done, probs))
        if whole * WINDOW <= RESUME_MAX_S * RATE:
            _resume = _Resume(audio[: whole * WINDOW].copy(), probs, hidden, cell)
        if audio.size > whole * WINDOW:  # the last, partial window: zero-padded, not kept
            padded = np.zeros((whole + 1) * WINDOW, np.float32)
            padded[: audio.size] = audio
            tail, _, _ = _run(session, padded, whole, hidden, cell)
            probs = np.concatenate((probs, tail))
    return probs


def speech_segments(audio: np.ndarray, threshold: float = 0.5,
                    min_speech_ms: int = 250) -> list[tuple[int, int]]:
    """(start, end) sample indices of speech in 16 kHz `audio`; empty for silence or noise.
    Silero's own rules turn the window probabilities into segments."""
    silero_vad = _silero()
    audio = np.ascontiguousarray(audio, dtype=np.float32).reshape(-1)
    if audio.size < WINDOW:
        return []
    stamps = silero_vad.get_speech_timestamps_from_probs(
        list(speech_probs(audio)), threshold=threshold, min_speech_duration_ms=min_speech_ms,
        audio_length_samples=audio.size)
    return [(int(s["start"]), int(s["end"])) for s in stamps]


@dataclass(frozen=True)
class VadEvent:
    """`kind` is "start" (speech began) or "end" (silence lasted `silence_ms`)."""

    kind: str
    sample: int  # index in the stream fed so far


class StreamingVad:
    """Speech start/end over a live 16 kHz stream. Threads: one caller (the capture stage).

    `feed(chunk)` returns the events the chunk completed. Speech starts after `start_ms` of
    windows above `threshold`; it ends after `silence_ms` below `threshold - 0.15` (Silero's
    recommended hysteresis), so short pauses between words do not end a question.
    """

    def __init__(self, threshold: float = 0.5, silence_ms: int = 800, start_ms: int = 96) -> None:
        self.threshold = threshold
        self.neg_threshold = max(threshold - 0.15, 0.01)
        self.silence_windows = max(1, int(silence_ms * RATE / 1000) // WINDOW)
        self.start_windows = max(1, int(start_ms * RATE / 1000) // WINDOW)
        self._model = _load(onnx=True)
        self._buf = np.zeros(0, np.float32)
        self._fed = 0
        self.speaking = False
        self._above = 0
        self._below = 0
        self.last_prob = 0.0

    def reset(self) -> None:
        """Forget the stream (after a gate closes, so Glimpse's own voice leaves no state)."""
        self._model.reset_states()
        self._buf = np.zeros(0, np.float32)
        self.speaking = False
        self._above = self._below = 0

    def feed(self, chunk: np.ndarray) -> list[VadEvent]:
        import torch

        events: list[VadEvent] = []
        self._buf = np.concatenate([self._buf, np.asarray(chunk, np.float32).reshape(-1)])
        while len(self._buf) >= WINDOW:
            window, self._buf = self._buf[:WINDOW], self._buf[WINDOW:]
            self._fed += WINDOW
            prob = float(self._model(torch.from_numpy(window.copy()), RATE).item())
            self.last_prob = prob
            if not self.speaking:
                self._above = self._above + 1 if prob >= self.threshold else 0
                if self._above >= self.start_windows:
                    self.speaking, self._below = True, 0
                    events.append(VadEvent("start", self._fed - self._above * WINDOW))
            else:
                self._below = self._below + 1 if prob < self.neg_threshold else 0
                if self._below >= self.silence_windows:
                    self.speaking, self._above = False, 0
                    events.append(VadEvent("end", self._fed))
        return events
