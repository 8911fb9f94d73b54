"""A Speaker that writes what it is given to a WAV file instead of a sound card.

Used by `--say OUT.wav` on `ask` and `describe`. Chunks are resampled to one rate (the first
chunk's) with soxr and written as 16-bit PCM as they arrive: like sound from a real speaker,
what was "played" stays played, so a later `clear()` (barge-in, shutdown) cannot take it back.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from assistant.events import now
from assistant.ports import Speaker


class WavFileSpeaker(Speaker):
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.rate: int | None = None
        self.frames = 0
        self._file = None

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def enqueue(self, samples: np.ndarray, sample_rate: int, tag: int,
                on_start: Callable[[float], None] | None = None) -> None:
        import soundfile as sf
        import soxr

        if self._file is None:
            self.rate = sample_rate
            self._file = sf.SoundFile(str(self.path), "w", samplerate=sample_rate, channels=1,
                                      subtype="PCM_16")
        if sample_rate != self.rate:
            samples = soxr.resample(samples, sample_rate, self.rate)
        if on_start is not None:
            on_start(now())
        data = np.clip(np.asarray(samples, np.float32), -1, 1)
        self._file.write(data)
        self.frames += len(data)

    def clear(self) -> None:
        pass  # everything enqueued is already written

    def pending(self) -> float:
        return 0.0

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    @property
    def seconds(self) -> float:
        return self.frames / float(self.rate or 1)
