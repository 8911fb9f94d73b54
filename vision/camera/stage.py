"""The camera stage: keeps the preview flowing and picks the frame for each turn.

While the key is held it keeps a burst of the last `burst_frames` distinct frames; at release it
freezes the sharpest (variance of the Laplacian), so a shaky hand at the moment of release does
not spoil the picture. At the press it already freezes the sharpest recent frame and sends it as
`EarlyFrame`, so the answer engine can look at the scene while the question is spoken; at release
that frame stays the turn's frame unless the scene changed or the burst has a clearly sharper
one. A typed question or a describe command (`Snapshot`) picks the sharpest of the frames from
the last `snapshot_s` seconds. A follow-up question reuses the frozen frame while
the scene has not changed (and the new one is not clearly sharper), so the answer engine can
reuse its encoded image; `NewFrame` forgets it.

Looking ahead (`look_ahead`): between turns, once the view has settled (the same scene for
`settle_s`, checked every `check_s` on a 32x32 grey thumbnail, about 0.2 ms), its sharpest recent
frame is frozen and sent as `IdleFrame`, again every `resend_s` while the view stays. The answer
engine looks at it within its idle-CPU budget (the answer stage's `LookAhead`), and a press on
the same view then gets this frozen frame as its frame, with that work done: the VLM's image and
instructions are already encoded when the question ends.

The camera's own thread reports a lost or recovered source through `on_error`/`on_recovered`
hooks (and skipped pictures through `on_notice`); they become ErrorEvent / Notice here.
Threads: hooks run on the camera's capture thread and only put events on the outbox.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import cv2
import numpy as np

from assistant import events as ev
from assistant.events import StageName
from assistant.ports import Camera
from assistant.stage import Generation, Outbox, Stage


@dataclass(frozen=True)
class CameraStageOptions:
    preview_fps: float = 15.0
    preview_width: int = 480
    burst_frames: int = 6
    # Mean absolute difference (0..1) of small grey thumbnails under which a new burst counts
    # as the same scene as the frozen frame.
    same_scene: float = 0.04
    # A frozen frame is kept for a follow-up unless the new best is this much sharper.
    sharper: float = 1.5
    # Typed questions and describe commands choose among the frames of the last this-many s.
    snapshot_s: float = 0.5
    # Looking ahead between turns (see the module docstring).
    look_ahead: bool = True
    settle_s: float = 1.0
    check_s: float = 0.5
    resend_s: float = 10.0


def sharpness(image: np.ndarray) -> float:
    """Variance of the Laplacian of the grey image: higher is sharper."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def choose_sharpest(frames: list[ev.Frame]) -> tuple[float, ev.Frame]:
    """(sharpness, frame) of the sharpest frame; ties go to the newest."""
    best_score, best = -1.0, frames[-1]
    for frame in frames:
        score = sharpness(frame.image)
        if score >= best_score:
            best_score, best = score, frame
    return best_score, best


def thumbnail(image: np.ndarray, size: int = 32) -> np.ndarray:
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    return cv2.resize(grey, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255


class CameraStage(Stage):
    name = StageName.CAMERA

    def __init__(self, outbox: Outbox, generation: Generation, camera: Camera,
                 options: CameraStageOptions = CameraStageOptions(),
                 clock: Callable[[], float] = ev.now) -> None:
        super().__init__(outbox, generation)
        self.camera = camera
        self.options = options
        self.clock = clock  # seconds, monotonic: when to look at the view again
        self.poll_interval = 1.0 / options.preview_fps
        self._burst: list[ev.Frame] | None = None
        self._last_seen = 0.0
        self._frozen: ev.Frame | None = None
        self._last_preview = 0.0
        self._recent: list[ev.Frame] = []  # the last frames seen, for snapshots
        # Looking ahead: when the view was last checked, its thumbnail, since when it is the
        # same, and when the frozen frame was last sent as an IdleFrame.
        self._checked = float("-inf")
        self._view: np.ndarray | None = None
        self._view_since = 0.0
        self._idle_sent = float("-inf")
        # The real camera adapter reports outages from its own thread (Camera's hooks).
        camera.on_error = self._camera_error
        camera.on_recovered = self._camera_recovered
        camera.on_notice = self._camera_notice

    def _camera_error(self, message: str) -> None:
        self.emit_error(message, recoverable=True)

    def _camera_recovered(self) -> None:
        self.emit(ev.Notice(message=f"The camera {self.camera.source} is back."))

    def _camera_notice(self, message: str) -> None:
        self.emit(ev.Notice(message=message))

    def setup(self) -> None:
        self.camera.open()

    def teardown(self) -> None:
        self.camera.close()

    def poll(self) -> Iterator[ev.Event]:
        frame = self.camera.latest()
        if frame is None:
            return
        if frame.captured_at != self._last_seen:
            self._last_seen = frame.captured_at
            self._recent.append(frame)
            del self._recent[:-self.options.burst_frames]
            if self._burst is not None:
                self._burst.append(frame)
                del self._burst[:-self.options.burst_frames]
            if frame.captured_at - self._last_preview >= 1.0 / self.options.preview_fps * 0.9:
                self._last_preview = frame.captured_at
                yield ev.Preview(image=_downscale(frame.image, self.options.preview_width),
                                 captured_at=frame.captured_at)
        if self.options.look_ahead and self._burst is None:
            yield from self._look_ahead(frame)

    def _look_ahead(self, frame: ev.Frame) -> Iterator[ev.Event]:
        """The settled view as an IdleFrame (see the module docstring)."""
        t = self.clock()
        if t - self._checked < self.options.check_s:
            return
        self._checked = t
        view = thumbnail(frame.image)
        if self._view is None or _thumb_difference(view, self._view) >= self.options.same_scene:
            self._view, self._view_since = view, t  # it changed: wait until it settles
            return
        if t - self._view_since < self.options.settle_s:
            return
        frozen = self._frozen
        if frozen is None or _difference(frozen.image, frame.image) >= self.options.same_scene:
            score, best = choose_sharpest(self._recent or [frame])
            frozen = self._frozen = ev.Frame(image=best.image, captured_at=best.captured_at,
                                             source=best.source, sharpness=score)
            self._idle_sent = float("-inf")
        if t - self._idle_sent >= self.options.resend_s:
            self._idle_sent = t
            yield ev.IdleFrame(image=frozen.image, captured_at=frozen.captured_at,
                               source=frozen.source, sharpness=frozen.sharpness,
                               gen=self.generation.value)

    def process(self, item: ev.Event) -> Iterator[ev.Event]:
        if isinstance(item, ev.BeginBurst):
            self._burst = []
            early = self._choose(self._snapshot_frames(), item)
            if isinstance(early, ev.Frame):
                yield ev.EarlyFrame(image=early.image, captured_at=early.captured_at,
                                    source=early.source, sharpness=early.sharpness,
                                    turn_id=item.turn_id, gen=item.gen)
        elif isinstance(item, ev.EndBurst):
            burst, self._burst = self._burst or [], None
            latest = self.camera.latest()
            if latest is not None and (not burst or latest.captured_at != burst[-1].captured_at):
                burst.append(latest)
            yield self._choose(burst, item)
        elif isinstance(item, ev.Snapshot):
            yield self._choose(self._snapshot_frames(), item)
        elif isinstance(item, ev.NewFrame):
            self._frozen = None

    def _snapshot_frames(self) -> list[ev.Frame]:
        """The latest frame and those of the last `snapshot_s` seconds before it."""
        latest = self.camera.latest()
        if latest is None:
            return []
        return [f for f in self._recent if latest.captured_at - f.captured_at
                <= self.options.snapshot_s and f.captured_at != latest.captured_at] + [latest]

    def _choose(self, burst: list[ev.Frame], item: ev.Data) -> ev.Event:
        if not burst:
            if self._frozen is not None:
                return ev.Frame(image=self._frozen.image, captured_at=self._frozen.captured_at,
                                source=self._frozen.source, sharpness=self._frozen.sharpness,
                                turn_id=item.turn_id, gen=item.gen)
            return ev.NoFrame(reason=self.camera.error or "The camera has no picture yet.",
                              turn_id=item.turn_id, gen=item.gen)
        score, best = choose_sharpest(burst)
        frozen = self._frozen
        if (frozen is not None and score <= frozen.sharpness * self.options.sharper
                and _difference(frozen.image, best.image) < self.options.same_scene):
            best, score = frozen, frozen.sharpness
        chosen = ev.Frame(image=best.image, captured_at=best.captured_at, source=best.source,
                          sharpness=score, turn_id=item.turn_id, gen=item.gen)
        self._frozen = chosen
        return chosen


def _difference(a: np.ndarray, b: np.ndarray) -> float:
    return _thumb_difference(thumbnail(a), thumbnail(b))


def _thumb_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference (0..1) of two thumbnails."""
    return float(np.mean(np.abs(a - b)))


def _downscale(image: np.ndarray, width: int) -> np.ndarray:
    """The preview of `image`, about `width` pixels wide: frames up to twice that go as they are
    (a 640x480 webcam: the window scales it while painting anyway), larger ones are shrunk. A
    resize costs ~0.4 ms and wakes OpenCV's worker threads 15 times a second, idle included."""
    h, w = image.shape[:2]
    if w <= 2 * width:
        return image
    # Linear is 5x cheaper than area averaging and is fine for a preview.
    return cv2.resize(image, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_LINEAR)
