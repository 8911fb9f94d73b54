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
    import sys

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


def speech_segments(audio: np.ndarray, threshold: float = 0.5,
                    min_speech_ms: int = 250) -> list[tuple[int, int]]:
    """(start, end) sample indices of speech in 16 kHz `audio`; empty for silence or noise."""
    silero_vad = _silero()
    audio = np.ascontiguousarray(audio, dtype=np.float32).reshape(-1)
    if audio.size < WINDOW:
        return []
    stamps = silero_vad.get_speech_timestamps_sequence(
        audio, _sequence(), threshold=threshold, min_speech_duration_ms=min_speech_ms)
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
