"""Scene-description mode end to end: a real video with a scene cut through the real camera
adapter, the scene watcher, the pipeline and the offline describer with its real models."""
from __future__ import annotations

import time

import pytest

from assistant import events as ev
from assistant.config import Config
from assistant.events import Mode
from tests.support.rig.camera import photo, write_scene_video
from tests.support.events import EventLog
from ui.bootstrap import Parts, bootstrap
from vision.camera.capture import OpenCVCamera
from vision.answer.describer import Describer
from vision.scene.stage import distance, signature

pytestmark = pytest.mark.system


def which_scene(frame: ev.Frame) -> str:
    sig = signature(frame.image)
    return min(("astronaut", "coffee"), key=lambda name: distance(sig, signature(photo(name))))


def test_one_description_per_scene_none_while_static(tmp_path):
    # 4 s of the astronaut, a cut, 4 s of coffee: longer than the 3 s minimum interval plus a
    # slow description on a busy machine.
    scene_cut_video = write_scene_video(tmp_path / "cut.mp4", seconds_each=4.0)
    describer = Describer()
    describer.load()  # before the video starts playing, so the first scene is not missed
    camera = OpenCVCamera(str(scene_cut_video.path), 1280, 720)
    pipeline = bootstrap(Config(), parts=Parts(audio_in=False, asr=False, speech_out=False),
                         camera=camera, vlm=describer, mode=Mode.DESCRIBE)
    log = EventLog(pipeline)
    pipeline.start()
    try:
        assert pipeline.wait_ready(60)
        per_scene = int(scene_cut_video.fps * scene_cut_video.seconds_each)
        # The clip plays in real time; wait (on its own frame count) until scene B has almost
        # run out, before the file loops back to scene A.
        deadline = time.monotonic() + 60
        while camera.frames < 2 * per_scene - 5:
            assert time.monotonic() < deadline, "the video did not play"
            log.drain()
            time.sleep(0.05)  # polling the frame count, with a deadline
        log.drain()
        # Let a description that started just before finish (bounded wait on the event).
        started = log.of(ev.TurnStarted)
        if len(log.of(ev.TurnEnded)) < len(started):
            log.wait_for(lambda e: isinstance(e, ev.TurnEnded)
                         and e.turn_id == started[-1].turn_id, timeout=60)
        frames = [which_scene(f) for f in log.of(ev.Frame)]
        answers = [a.text for a in log.of(ev.Answer)]
        assert [t.mode for t in started] == [Mode.DESCRIBE, Mode.DESCRIBE], answers
        assert frames == ["astronaut", "coffee"], (frames, answers)
        assert "person" in answers[0].lower()
        assert any(word in answers[1].lower() for word in ("espresso", "cup", "coffee")), answers
        assert not log.of(ev.ErrorEvent), log.of(ev.ErrorEvent)
    finally:
        pipeline.stop()
