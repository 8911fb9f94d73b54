"""A Speaker that writes what it is given to a WAV file instead of a sound card.

Used by `--say OUT.wav` on `ask` and `describe`. Chunks are resampled to one rate (the first
chunk's) with soxr and written as 16-bit PCM when the speaker is closed.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from assistant.events import now


class WavFileSpeaker:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.rate: int | None = None
        self._chunks: list[np.ndarray] = []

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def enqueue(self, samples: np.ndarray, sample_rate: int, tag: int,
                on_start: Callable[[float], None] | None = None) -> None:
        import soxr

        if self.rate is None:
            self.rate = sample_rate
        if sample_rate != self.rate:
            samples = soxr.resample(samples, sample_rate, self.rate)
        self._chunks.append(np.asarray(samples, np.float32))
        if on_start is not None:
            on_start(now())

    def clear(self) -> None:
        self._chunks.clear()

    def pending(self) -> float:
        return 0.0

    def close(self) -> None:
        import soundfile as sf

        if self.rate is None:
            return
        audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.float32)
        sf.write(str(self.path), np.clip(audio, -1, 1), self.rate, subtype="PCM_16")

    @property
    def seconds(self) -> float:
        return sum(len(c) for c in self._chunks) / float(self.rate or 1)
