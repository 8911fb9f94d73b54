"""Frame choice (sharpest of a burst, frozen frame for follow-ups) and scene-change detection,
on real photos (scikit-image) blurred with OpenCV, with a fake camera feeding the real stage."""
from __future__ import annotations

import queue
import time

import cv2
import numpy as np

from assistant import events as ev
from assistant.events import Mode
from assistant.stage import Generation, Outbox
from tests.support.fakes import FakeCamera
from tests.support.rig.camera import photo, shaken
from vision.camera.stage import CameraStage, CameraStageOptions, choose_sharpest
from vision.scene.stage import ChangeDetector, SceneOptions, SceneStage, distance, signature


class Drain:
    """Reads a stage's outbox, waiting with a timeout for what a test expects."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self.seen: list[ev.Event] = []

    def until(self, predicate, timeout: float = 10.0) -> ev.Event:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.outbox.get(timeout=0.05)
            except queue.Empty:
                continue
            self.seen.append(event)
            if predicate(event):
                return event
        raise AssertionError(f"timed out; saw {[type(e).__name__ for e in self.seen[-20:]]}")


def burst_images() -> list[np.ndarray]:
    """A hand-held burst of one real scene: motion/defocus blur on all frames but one."""
    rng = np.random.default_rng(5)
    base = photo("astronaut")
    frames = [shaken(base, rng) for _ in range(5)]
    for i, sigma in ((0, 2.5), (1, 1.8), (3, 3.0), (4, 2.0)):
        frames[i] = cv2.GaussianBlur(frames[i], (0, 0), sigma)
    return frames  # index 2 is the sharp one


def test_choose_sharpest_picks_the_unblurred_frame():
    images = burst_images()
    frames = [ev.Frame(image=img, captured_at=float(i)) for i, img in enumerate(images)]
    score, best = choose_sharpest(frames)
    assert best.captured_at == 2.0
    assert score > 2 * max(s for s in [choose_sharpest([f])[0] for f in frames[:2] + frames[3:]])


def test_camera_stage_burst_freezes_the_sharpest_and_reuses_it_for_a_follow_up():
    images = burst_images()
    outbox, gen = Outbox(), Generation()
    camera = FakeCamera(images, fps=10.0)
    stage = CameraStage(outbox, gen, camera, CameraStageOptions(preview_fps=15, burst_frames=8))
    stage.start()
    drain = Drain(outbox)
    try:
        stage.submit(ev.BeginBurst(turn_id=1))
        # Wait until the stage has previewed a full cycle of the burst (5 distinct frames).
        seen: set[float] = set()
        drain.until(lambda e: isinstance(e, ev.Preview) and (seen.add(e.captured_at) or
                                                             len(seen) >= 6))
        stage.submit(ev.EndBurst(turn_id=1))
        first = drain.until(lambda e: isinstance(e, ev.Frame))
        assert np.array_equal(first.image, images[2]), "the sharp frame of the burst was chosen"
        # A follow-up about the same scene: the frozen frame comes back unchanged.
        stage.submit(ev.Snapshot(turn_id=2))
        again = drain.until(lambda e: isinstance(e, ev.Frame) and e.turn_id == 2)
        assert again.captured_at == first.captured_at
        # NewFrame forgets it: the next snapshot is a fresh capture.
        stage.submit(ev.NewFrame())
        later: set[float] = set()
        drain.until(lambda e: isinstance(e, ev.Preview) and e.captured_at > first.captured_at
                    + 0.5 and (later.add(e.captured_at) or len(later) >= 6))
        stage.submit(ev.Snapshot(turn_id=3))
        fresh = drain.until(lambda e: isinstance(e, ev.Frame) and e.turn_id == 3)
        assert fresh.captured_at != first.captured_at
    finally:
        stage.stop()


def test_camera_stage_without_a_picture_says_why():
    outbox, gen = Outbox(), Generation()
    stage = CameraStage(outbox, gen, FakeCamera([]))
    stage.start()
    try:
        stage.submit(ev.Snapshot(turn_id=1))
        nf = Drain(outbox).until(lambda e: isinstance(e, (ev.NoFrame, ev.Frame)))
        assert isinstance(nf, ev.NoFrame) and "no picture" in nf.reason
    finally:
        stage.stop()


def scene_frames(name: str, n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    base = photo(name)
    return [shaken(base, rng) for _ in range(n)]


def test_signature_distance_separates_scenes_not_noise():
    a = scene_frames("astronaut", 4, 1)
    c = scene_frames("coffee", 2, 2)
    sigs = [signature(x) for x in a]
    assert max(distance(sigs[0], s) for s in sigs[1:]) < 0.125
    assert distance(sigs[0], signature(c[0])) > 0.5
    # A light switched on (brighter, more contrast) stays under the default change threshold.
    brighter = cv2.convertScaleAbs(a[0], alpha=1.3, beta=20)
    assert distance(sigs[0], signature(brighter)) < SceneOptions().change_threshold


def test_change_detector_hysteresis_settle_and_min_interval():
    det = ChangeDetector(SceneOptions(change_threshold=0.25, min_interval_s=3.0, settle_s=0.6))
    fired = []
    t = 0.0
    frames = ([("A", x) for x in scene_frames("astronaut", 30, 3)]
              + [("C", x) for x in scene_frames("coffee", 30, 4)]
              + [("C", x) for x in scene_frames("coffee", 10, 5)])
    for label, image in frames:
        sig = signature(image)
        if det.update(sig, t):
            det.described(sig, t)
            fired.append((label, round(t, 1)))
        t += 0.1
    # Once when switched on, once after the cut (after it settled), never again for the same.
    assert [label for label, _ in fired] == ["A", "C"]
    assert 3.0 + 0.6 <= fired[1][1] <= 3.0 + 1.0


def test_change_detector_waits_for_the_minimum_interval():
    det = ChangeDetector(SceneOptions(min_interval_s=5.0, settle_s=0.2))
    a, c = signature(photo("astronaut")), signature(photo("coffee"))
    assert det.update(a, 0.0)
    det.described(a, 0.0)
    assert not det.update(c, 1.0) and not det.update(c, 2.0)
    assert det.update(c, 5.0)


def test_scene_watcher_asks_for_a_description_only_in_describe_mode():
    outbox, gen = Outbox(), Generation()
    camera = FakeCamera(scene_frames("astronaut", 3, 9), fps=10.0)
    watcher = SceneStage(outbox, gen, camera, SceneOptions(poll_s=0.05), mode=Mode.ASK)
    camera.open()
    watcher.start()
    drain = Drain(outbox)
    try:
        watcher.submit(ev.TurnStarted(turn_id=1))  # the user's own turn is running...
        watcher.submit(ev.SetMode(mode=Mode.DESCRIBE))
        # ...so nothing may be said over it; the watcher has looked at frames meanwhile.
        deadline = time.monotonic() + 10
        while watcher._last_seen < 0 and time.monotonic() < deadline:
            time.sleep(0.01)  # polling a condition, not waiting a fixed time
        assert watcher.requested == 0 and outbox.empty()
        watcher.submit(ev.TurnEnded(turn_id=1, answer="A person in a space suit."))
        cmd = drain.until(lambda e: isinstance(e, ev.Describe))
        assert cmd.mode == Mode.DESCRIBE and watcher.requested == 1
        assert watcher.last_description == "A person in a space suit."
    finally:
        watcher.stop()


class _HookedCamera(FakeCamera):
    """A fake camera whose outage hooks (the Camera port's) the test fires."""


def test_camera_stage_turns_camera_outages_into_events():
    outbox, gen = Outbox(), Generation()
    camera = _HookedCamera([photo("coffee")])
    stage = CameraStage(outbox, gen, camera)
    drain = Drain(outbox)
    camera.on_error("The camera udp://x stopped sending pictures; reconnecting.")
    err = drain.until(lambda e: isinstance(e, ev.ErrorEvent))
    assert err.stage == ev.StageName.CAMERA and "stopped sending" in err.message and err.recoverable
    camera.on_recovered()
    assert "is back" in drain.until(lambda e: isinstance(e, ev.Notice)).message
    camera.on_notice("Skipped b.jpg: damaged.")
    assert drain.until(lambda e: isinstance(e, ev.Notice)).message == "Skipped b.jpg: damaged."
    assert stage.camera is camera


def test_camera_source_kinds_and_fitting(tmp_path):
    from vision.camera.capture import fit_to, source_kind

    assert source_kind("0") == "index" and source_kind("12") == "index"
    assert source_kind("rtsp://cam.local/stream") == "url"
    assert source_kind("udp://127.0.0.1:23000") == "url"
    assert source_kind(str(tmp_path)) == "folder"
    assert source_kind("holiday.JPG") == "image" and source_kind("clip.mp4") == "video"
    assert fit_to(np.zeros((4320, 7680, 3), np.uint8), 1280, 720).shape == (720, 1280, 3)
    assert fit_to(np.zeros((1, 1), np.uint8), 1280, 720).shape == (1, 1, 3)
    sixteen = np.full((10, 10), 65535, np.uint16)
    assert fit_to(sixteen, 1280, 720).max() == 255
    assert fit_to(np.zeros((100, 100, 4), np.uint8), 1280, 720).shape == (100, 100, 3)


def test_pipeline_routes_set_mode_to_scene_mode_and_describes_once():
    from assistant.config import Config
    from tests.support.fakes import ScriptedVlm
    from tests.support.events import EventLog
    from ui.bootstrap import Parts, bootstrap

    camera = FakeCamera(scene_frames("chelsea", 3, 11), fps=10.0)
    vlm = ScriptedVlm(tokens=("A cat.",))
    pipeline = bootstrap(Config(), parts=Parts(audio_in=False, asr=False, speech_out=False),
                         camera=camera, vlm=vlm)
    log = EventLog(pipeline)
    pipeline.start()
    try:
        assert pipeline.wait_ready(10)
        assert pipeline.stages.scene in pipeline.stages.all()
        pipeline.submit(ev.SetMode(mode=Mode.DESCRIBE))
        started = log.wait_type(ev.TurnStarted, timeout=10)
        assert started.mode == Mode.DESCRIBE
        ended = log.wait_type(ev.TurnEnded, timeout=10)
        assert ended.answer == "A cat." and vlm.requests[0].mode == Mode.DESCRIBE
        # The same scene keeps playing: the watcher has seen it, and says nothing more.
        watcher = pipeline.stages.scene
        seen = watcher._last_seen
        deadline = time.monotonic() + 10
        while watcher._last_seen < seen + 1.0 and time.monotonic() < deadline:
            time.sleep(0.02)  # polling the watcher's progress, with a deadline
        log.drain()
        assert len(log.of(ev.TurnStarted)) == 1 and watcher.requested == 1
    finally:
        pipeline.stop()
