"""Scene-description mode (accessibility): say what is in front of the camera when it changes.

`SceneStage` is a stage that, while the pipeline's mode is DESCRIBE, looks at the camera a few
times a second and puts a `Describe(mode=DESCRIBE)` command on the bus when the scene has really
changed; the normal pipeline then answers and speaks it (hazards first, clock directions, "I
think" when unsure: that is the answer engine's job, see `vision.answer.describer` and the describe
prompts).

When is a scene "new"?
- Each frame gets a signature: a 32x32 grey thumbnail normalized for brightness and contrast,
  and a hue/saturation histogram. The distance of two signatures is 0 (same) .. 1 (unrelated);
  camera noise and a small shake stay near 0.1, a different scene is above 0.5.
- Hysteresis: a frame further than `change_threshold` from the scene last described starts a
  candidate; the candidate must then hold still (consecutive frames closer than half the
  threshold to it) for `settle_s`, so a pan is described once, where it stops. A frame back
  within half the threshold of the described scene cancels the candidate.
- `min_interval_s` between descriptions, and never while a turn is running (a question the user
  asked is never cut off by the watcher).
- The described scene becomes the reference, so an unchanged scene is never described twice.

Threads: the stage thread polls the camera (`Camera.latest()` is thread-safe); commands arrive
in its inbox from the conductor (SetMode, TurnStarted, TurnEnded).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import cv2
import numpy as np

from assistant import events as ev
from assistant.events import Mode, StageName
from assistant.ports import Camera
from assistant.stage import Generation, Outbox, Stage


@dataclass(frozen=True)
class SceneOptions:
    change_threshold: float = 0.25  # signature distance (0..1) that counts as a new scene
    min_interval_s: float = 3.0  # least time between descriptions
    settle_s: float = 0.6  # a new scene must hold still this long before it is described
    poll_s: float = 0.2  # how often the camera is looked at
    describe_on_start: bool = True  # describe once when scene mode is switched on
    verbosity: str = "normal"


@dataclass(frozen=True)
class Signature:
    """A frame's compact description for change detection."""

    grey: np.ndarray  # 32x32 float32, zero mean, unit-ish contrast
    hist: np.ndarray  # 16x8 hue/saturation histogram, sums to 1


def signature(image_bgr: np.ndarray) -> Signature:
    image = image_bgr if image_bgr.ndim == 3 else cv2.cvtColor(image_bgr, cv2.COLOR_GRAY2BGR)
    small = cv2.resize(image, (32, 32), interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).astype(np.float32)
    # Normalize brightness and contrast, so a light switched on is not a new scene by itself.
    grey = (grey - grey.mean()) / (grey.std() + 8.0)
    hsv = cv2.cvtColor(cv2.resize(image, (64, 64), interpolation=cv2.INTER_AREA),
                       cv2.COLOR_BGR2HSV)
    hist = cv2.calcHist([hsv], [0, 1], None, [16, 8], [0, 180, 0, 256])
    cv2.normalize(hist, hist, 1, 0, cv2.NORM_L1)
    return Signature(grey=grey, hist=hist)


def distance(a: Signature, b: Signature) -> float:
    """0 (same scene) .. 1 (unrelated): half structure (thumbnail), half colour (histogram)."""
    structure = min(float(np.mean(np.abs(a.grey - b.grey))) / 1.6, 1.0)
    colour = float(cv2.compareHist(a.hist, b.hist, cv2.HISTCMP_BHATTACHARYYA))
    return min(1.0, 0.5 * structure + 0.5 * colour)


class ChangeDetector:
    """Decides, frame by frame, when a new scene should be described. Pure: times are passed in.

    `update(sig, t)` returns True when the caller should describe now; the caller then calls
    `described(sig, t)`.
    """

    def __init__(self, options: SceneOptions) -> None:
        self.options = options
        self.reference: Signature | None = None  # the scene last described
        self.last_described = -1e9
        self._candidate: Signature | None = None
        self._candidate_since = 0.0

    def reset(self) -> None:
        self.reference = None
        self._candidate = None

    def update(self, sig: Signature, t: float) -> bool:
        if self.reference is None:
            return self.options.describe_on_start and self._interval_ok(t)
        threshold = self.options.change_threshold
        if distance(sig, self.reference) <= threshold * 0.5:
            self._candidate = None  # back to (or still) the described scene
            return False
        if self._candidate is None or distance(sig, self._candidate) > threshold * 0.5:
            if distance(sig, self.reference) > threshold:
                self._candidate, self._candidate_since = sig, t  # a new scene starts settling
            return False
        return t - self._candidate_since >= self.options.settle_s and self._interval_ok(t)

    def described(self, sig: Signature, t: float) -> None:
        self.reference, self.last_described = sig, t
        self._candidate = None

    def _interval_ok(self, t: float) -> bool:
        return t - self.last_described >= self.options.min_interval_s


class SceneStage(Stage):
    """Puts `Describe(mode=DESCRIBE)` on the bus when the scene changes, in DESCRIBE mode."""

    name = StageName.CAMERA

    def __init__(self, outbox: Outbox, generation: Generation, camera: Camera,
                 options: SceneOptions = SceneOptions(), mode: Mode = Mode.ASK) -> None:
        super().__init__(outbox, generation)
        self.camera = camera
        self.options = options
        self.detector = ChangeDetector(options)
        self.enabled = mode == Mode.DESCRIBE
        self.requested = 0  # Describe commands put on the bus
        self._busy_turns: set[int] = set()
        self._last_seen = -1.0
        self._last_answer = ""

    @property
    def poll_interval(self) -> float | None:  # type: ignore[override]
        """The camera is looked at only in scene-description mode; else the thread sleeps."""
        return self.options.poll_s if self.enabled else None

    def process(self, item: ev.Event) -> Iterator[ev.Event]:
        if isinstance(item, ev.SetMode):
            enabled = item.mode == Mode.DESCRIBE
            if enabled and not self.enabled:
                self.detector.reset()  # switched on: describe what is there now
            self.enabled = enabled
        elif isinstance(item, ev.TurnStarted):
            self._busy_turns.add(item.turn_id)
        elif isinstance(item, ev.TurnEnded):
            self._busy_turns.discard(item.turn_id)
            if item.answer:
                self._last_answer = item.answer
        return iter(())

    def poll(self) -> Iterator[ev.Event]:
        if not self.enabled:
            return
        frame = self.camera.latest()
        if frame is None or frame.captured_at == self._last_seen:
            return
        self._last_seen = frame.captured_at
        sig = signature(frame.image)
        t = ev.now()
        if self.detector.update(sig, t) and not self._busy_turns:
            self.detector.described(sig, t)
            self.requested += 1
            yield ev.Describe(mode=Mode.DESCRIBE)

    @property
    def last_description(self) -> str:
        """The last answer the pipeline gave (for "what changed?")."""
        return self._last_answer


def options_from_config(config) -> SceneOptions:
    return SceneOptions(change_threshold=config.scene.change_threshold,
                        min_interval_s=config.scene.min_interval_s,
                        verbosity=config.scene.verbosity)
