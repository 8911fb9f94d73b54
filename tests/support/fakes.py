"""Fakes for every port and engine, injected through `bootstrap(...)` in unit and stage tests.

They behave like the real things where the pipeline can tell: the microphone delivers audio in
real-time-sized chunks at real-time pace, the speaker takes time to "play" what it is given,
engines take time and honour cancellation.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from assistant.errors import DeviceError
from assistant.events import Frame, now
from assistant.ports import (
    AsrEngine,
    AsrOptions,
    AsrResult,
    Camera,
    Speaker,
    TtsAudio,
    TtsEngine,
    TtsOptions,
    VlmEngine,
    VlmRequest,
)
from assistant.stage import CancelToken
from vision.finder.base import FinderEngine, FindResult, Match


def speech(seconds: float = 1.0) -> np.ndarray:
    """A 220 Hz tone at 16 kHz standing in for a voice: loud enough for every level check, for
    the scripted recognizer, which does not listen."""
    t = np.arange(int(seconds * 16000)) / 16000
    return (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def read_wav_16k(path: str | Path) -> np.ndarray:
    """A test clip as 16 kHz mono float32 (soundfile + soxr, as the product does)."""
    import soundfile as sf
    import soxr

    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    mono = data.mean(axis=1)
    return soxr.resample(mono, rate, 16000).astype(np.float32) if rate != 16000 else mono


class FakeMicrophone:
    """Replays samples (16 kHz) in `chunk_s` chunks, paced like a real device.

    Before `play()` (or after the clip ends) it delivers silence, like an open mic in a quiet
    room. `lose()` makes the next read raise DeviceError, as an unplugged device would.
    """

    sample_rate = 16000

    def __init__(self, samples: np.ndarray | None = None, chunk_s: float = 0.02,
                 speed: float = 1.0) -> None:
        self.chunk = int(chunk_s * self.sample_rate)
        self.speed = speed
        self._clip = samples if samples is not None else np.zeros(0, np.float32)
        self._pos = 0
        self._playing = False
        self._t0 = 0.0
        self._emitted = 0
        self._lost = False
        self.opened = False
        self.dropped = 0

    def open(self) -> None:
        self.opened = True
        self._lost = False
        self._t0 = now()
        self._emitted = 0

    def play(self, samples: np.ndarray | None = None) -> None:
        """Start feeding the clip (from the next chunk on)."""
        if samples is not None:
            self._clip = samples
        self._pos = 0
        self._playing = True

    def lose(self) -> None:
        self._lost = True

    def read(self, timeout: float) -> np.ndarray | None:
        if self._lost:
            raise DeviceError("The microphone was disconnected",
                              "Plug it back in; Glimpse reconnects by itself.")
        due = int((now() - self._t0) * self.sample_rate * self.speed) // self.chunk
        if self._emitted >= due:
            return None
        self._emitted += 1
        if self._playing and self._pos < len(self._clip):
            out = self._clip[self._pos:self._pos + self.chunk]
            self._pos += self.chunk
            if len(out) < self.chunk:
                out = np.pad(out, (0, self.chunk - len(out)))
            return out.astype(np.float32)
        return np.zeros(self.chunk, np.float32)

    def close(self) -> None:
        self.opened = False


class FakeCamera(Camera):
    """Replays images (BGR arrays) at `fps`, looping."""

    def __init__(self, images: Sequence[np.ndarray], fps: float = 15.0, source: str = "fake") -> None:
        self.images = list(images)
        self.fps = fps
        self.source = source
        self._t0 = 0.0

    def open(self) -> None:
        self._t0 = now()

    def latest(self) -> Frame | None:
        if not self.images:
            return None
        index = int((now() - self._t0) * self.fps)
        captured = self._t0 + index / self.fps
        return Frame(image=self.images[index % len(self.images)], captured_at=captured,
                     source=self.source)

    def close(self) -> None:
        pass


class RecordingSpeaker(Speaker):
    """Records what it is asked to play and "plays" it on its own thread, `speed` times faster
    than real time. `played` holds (tag, samples) of everything that started playing."""

    def __init__(self, speed: float = 20.0) -> None:
        self.speed = speed
        self.queued: list[tuple[int, np.ndarray, int]] = []
        self.played: list[tuple[int, np.ndarray]] = []
        self.cleared = 0
        self.wakes = 0  # how often the pipeline woke it (a resting stream wakes per question)
        self.started = threading.Event()  # set when the first chunk starts playing
        self._cond = threading.Condition()
        self._queue: list[tuple[np.ndarray, int, int, Callable[[float], None] | None]] = []
        self._busy_until = 0.0
        self._stop = False
        self._thread: threading.Thread | None = None

    def open(self) -> None:
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="fake-speaker", daemon=True)
        self._thread.start()

    def enqueue(self, samples: np.ndarray, sample_rate: int, tag: int,
                on_start: Callable[[float], None] | None = None) -> None:
        with self._cond:
            self.queued.append((tag, samples, sample_rate))
            self._queue.append((samples, sample_rate, tag, on_start))
            self._cond.notify_all()

    def wake(self) -> None:
        with self._cond:
            self.wakes += 1

    def clear(self) -> None:
        with self._cond:
            self._queue.clear()
            self._busy_until = 0.0
            self.cleared += 1
            self._cond.notify_all()

    def pending(self) -> float:
        with self._cond:
            left = sum(len(s) / r for s, r, _, _ in self._queue)
            return left + max(0.0, self._busy_until - now())

    def close(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(2)

    def _run(self) -> None:
        with self._cond:
            while not self._stop:
                wait = self._busy_until - now()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                if not self._queue:
                    self._cond.wait(0.1)
                    continue
                samples, rate, tag, on_start = self._queue.pop(0)
                self.played.append((tag, samples))
                self.started.set()
                self._busy_until = now() + len(samples) / rate / self.speed
                if on_start is not None:
                    on_start(now())


class ScriptedAsr(AsrEngine):
    """Returns scripted text; `fail_times` makes the first N calls raise."""

    name = "scripted-asr"

    def __init__(self, text: str = "what do you see", delay: float = 0.0,
                 fail_times: int = 0, language: str = "en") -> None:
        self.text = text
        self.language = language
        self.delay = delay
        self.fail_times = fail_times
        self.calls: list[tuple[int, bool]] = []

    def load(self) -> None:
        pass

    def transcribe(self, audio: np.ndarray, options: AsrOptions) -> AsrResult:
        self.calls.append((len(audio), options.partial))
        if self.fail_times:
            self.fail_times -= 1
            raise RuntimeError("scripted ASR failure")
        if self.delay:
            time.sleep(self.delay)  # stands in for compute time
        if float(np.max(np.abs(audio))) < 1e-4 if audio.size else True:
            return AsrResult(text="", rejected="silence")
        return AsrResult(text=self.text, language=self.language)


class ScriptedVlm(VlmEngine):
    """Streams scripted tokens, `token_s` apart, stopping at once when cancelled."""

    name = "scripted-vlm"

    def __init__(self, tokens: Sequence[str] = ("I see ", "a cat ", "on a mat. ", "It is asleep."),
                 token_s: float = 0.0, fail_times: int = 0) -> None:
        self.tokens = list(tokens)
        self.token_s = token_s
        self.fail_times = fail_times
        self.requests: list[VlmRequest] = []
        self.cancelled_at: list[float] = []
        self.yielded_at: list[float] = []  # when each piece was handed on, all streams
        self.stopped = threading.Event()  # set when a stream ends early (cancelled or closed)

    def load(self) -> None:
        pass

    def stream(self, request: VlmRequest, cancel: CancelToken) -> Iterator[str]:
        self.requests.append(request)
        if self.fail_times:
            self.fail_times -= 1
            raise RuntimeError("scripted VLM failure")
        finished = False
        try:
            for token in self.tokens:
                if self.token_s:
                    deadline = now() + self.token_s
                    while now() < deadline and not cancel.cancelled:  # stands in for a decode step
                        time.sleep(0.001)
                if cancel.cancelled:
                    return
                self.yielded_at.append(now())
                yield token
            finished = True
        finally:
            if not finished:  # cancelled here, or closed by the stage after a yield
                self.cancelled_at.append(now())
                self.stopped.set()


class ScriptedTts(TtsEngine):
    """Makes `char_s` (10 ms) of a tone per character at 16 kHz: real audio, no model. A voice
    speaks about 65 ms a character."""

    name = "scripted-tts"

    def __init__(self, sample_rate: int = 16000, char_s: float = 0.01) -> None:
        self.sample_rate = sample_rate
        self.char_s = char_s
        self.texts: list[str] = []

    def load(self) -> None:
        pass

    def synthesize(self, text: str, options: TtsOptions) -> Iterator[TtsAudio]:
        self.texts.append(text)
        n = int(max(1, len(text)) * self.sample_rate * self.char_s)
        t = np.arange(n) / self.sample_rate
        yield TtsAudio(samples=(0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32),
                       sample_rate=self.sample_rate)


class ScriptedFinder(FinderEngine):
    """Finds the query in bright pictures (mean > `min_mean`), at the right of the picture,
    sure, as an object detector would (with a box); `gate` (set by the test) must be set before anything is found."""

    name = "scripted"

    def __init__(self, min_mean: float = 128) -> None:
        self.min_mean = min_mean
        self.loaded = False
        self.gate = threading.Event()
        self.calls = 0
        self.lock = threading.Lock()

    def load(self) -> None:
        self.loaded = True

    def find(self, image, query, perception=None) -> FindResult:
        with self.lock:
            self.calls += 1
        h, w = image.shape[:2]
        if self.gate.is_set() and image.mean() > self.min_mean:
            return FindResult(query, (Match(query, (w - 20, 10, w, 30), 0.9, "detector"),),
                              0.9, w, h)
        return FindResult(query, (), 0.1, w, h)
