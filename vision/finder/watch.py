"""Watch mode: "tell me when you see my keys" keeps looking at the live camera until it appears.

`Watch.run(stop)` polls `camera.latest()` at up to `WatchOptions.fps` frames a second, runs the
finder on each new frame (a frame already looked at is skipped, so a stalled camera costs
nothing) and returns the first `Sighting`: the finder's result, the frame's capture time and
how long after the capture the answer was ready. It returns None when `stop` is set (Esc,
"stop") or after `timeout_s` seconds (the `[finder] watch_timeout_s` setting), so a forgotten
watch does not run all day.

What counts as seen: a sure match (the finder's "yes"), or an "I think" match in two frames in
a row; one unsure frame is not enough (a tile of a moving scene flickers).

Threads: `run` blocks on the caller's thread (the CLI's); `stop` may be set from any thread and
is noticed within one frame's analysis. The watch stage (`vision.finder.watch_stage`) calls `look()`
once per period instead, so its thread stays free for commands. Times are monotonic seconds.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from vision.finder.base import FindResult


@dataclass(frozen=True)
class WatchOptions:
    """`fps`: frames looked at per second, at most; `timeout_s`: give up after this long."""

    fps: float = 4.0
    timeout_s: float = 120.0

    def __post_init__(self) -> None:
        if not 0.1 <= self.fps <= 30:
            raise ValueError(f"fps must be 0.1..30, not {self.fps}")
        if not self.timeout_s > 0:
            raise ValueError(f"timeout_s must be positive, not {self.timeout_s}")


@dataclass(frozen=True)
class Sighting:
    """The thing was seen. `captured_at` is the frame's monotonic capture time; `latency_s`
    from then until the answer was ready; `frames` looked at before it."""

    result: FindResult
    captured_at: float
    latency_s: float
    frames: int


class Watch:
    """Looks for `query` on `camera` (any object with `latest() -> Frame | None`) with `finder`
    (a FinderEngine, loaded) until it is seen, stopped or timed out.

    Two ways to drive it: `run(stop)` blocks until the end (the command line); `begin()` and
    then `look()` once per period (the watch stage, whose thread must stay free for commands)."""

    def __init__(self, finder: Any, camera: Any, query: str,
                 options: WatchOptions = WatchOptions(),
                 clock: Callable[[], float] = time.monotonic,
                 on_frame: Callable[[FindResult], None] | None = None) -> None:
        self.finder, self.camera, self.query = finder, camera, query
        self.options = options
        self.clock = clock
        self.on_frame = on_frame
        self.frames = 0
        self.deadline = 0.0
        self._last_key: Any = None
        self._unsure = 0

    def begin(self) -> None:
        """Start the clock: `expired` turns True `timeout_s` from now."""
        self.deadline = self.clock() + self.options.timeout_s
        self._last_key, self._unsure = None, 0

    @property
    def expired(self) -> bool:
        return self.clock() >= self.deadline

    def look(self) -> Sighting | None:
        """Look at the camera's newest frame, if it is one not looked at yet; the Sighting when
        the thing is seen."""
        frame = self.camera.latest()
        key = None if frame is None else (frame.captured_at, frame.source)
        if frame is None or key == self._last_key:
            return None
        self._last_key = key
        result = self.finder.find(frame.image, self.query)
        self.frames += 1
        if self.on_frame is not None:
            self.on_frame(result)
        if result.found and (result.sure or self._unsure >= 1):
            return Sighting(result, frame.captured_at, self.clock() - frame.captured_at,
                            self.frames)
        self._unsure = self._unsure + 1 if result.found else 0
        return None

    def run(self, stop: threading.Event) -> Sighting | None:
        period = 1.0 / self.options.fps
        self.begin()
        while not stop.is_set():
            start = self.clock()
            if start >= self.deadline:
                return None
            sighting = self.look()
            if sighting is not None:
                return sighting
            # Wait out the rest of the period; a stop wakes the wait at once.
            stop.wait(max(0.0, min(period - (self.clock() - start), self.deadline - self.clock())))
        return None
