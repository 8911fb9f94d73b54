"""Fault matrix: the camera stream ends, then comes back. A notice; a question asked meanwhile
is answered from the last frame, with its age; capture resumes by itself.

The camera is real: OpenCV reading a live MPEG-TS stream over UDP from ffmpeg
(tests/support/rig/camera.py); the answer engine and speech are fakes injected through bootstrap."""
from __future__ import annotations

import queue
import time

import pytest

from assistant import events as ev
from assistant.config import Config
from tests.support.fakes import RecordingSpeaker, ScriptedTts, ScriptedVlm
from tests.support.rig.camera import scene_cut_video, udp_camera  # noqa: F401 - fixtures
from ui.bootstrap import Parts, bootstrap
from vision.camera.capture import OpenCVCamera

pytestmark = pytest.mark.system


class Events:
    def __init__(self, pipeline) -> None:
        self.pipeline = pipeline
        self.seen: list[ev.Event] = []

    def wait(self, predicate, timeout: float, what: str) -> ev.Event:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.pipeline.events.get(timeout=0.2)
            except queue.Empty:
                continue
            self.seen.append(event)
            if predicate(event):
                return event
        raise AssertionError(f"timed out waiting for {what}")


def ask(pipeline, events: Events, text: str) -> tuple[ev.Event, ev.TurnEnded]:
    """A typed question; returns the turn's Frame (or NoFrame) and its end."""
    pipeline.submit(ev.Ask(text=text))
    started = events.wait(lambda e: isinstance(e, ev.TurnStarted), 10, "the turn to start")
    picture = events.wait(lambda e: isinstance(e, (ev.Frame, ev.NoFrame))
                          and e.turn_id == started.turn_id, 20, "the turn's picture")
    ended = events.wait(lambda e: isinstance(e, ev.TurnEnded) and e.turn_id == started.turn_id,
                        20, "the turn to end")
    return picture, ended


def test_camera_stream_ends_and_comes_back(udp_camera):  # noqa: F811 - fixture
    camera = OpenCVCamera(udp_camera.url, 640, 480, stall_s=2.0)
    config = Config().with_value("camera.source", udp_camera.url)
    vlm = ScriptedVlm()
    pipeline = bootstrap(config, parts=Parts(audio_in=False, asr=False), camera=camera, vlm=vlm,
                         tts=ScriptedTts(), speaker=RecordingSpeaker())
    events = Events(pipeline)
    pipeline.start()
    try:
        assert pipeline.wait_ready(20)
        assert camera.wait_frame(20) is not None, "no frame from the UDP stream"
        before, ended = ask(pipeline, events, "what do you see?")
        assert isinstance(before, ev.Frame) and ended.answer
        udp_camera.stop()  # the stream ends
        lost = events.wait(lambda e: isinstance(e, ev.ErrorEvent)
                           and e.stage == ev.StageName.CAMERA, 20, "the camera's notice")
        assert udp_camera.url in lost.message and "reconnecting" in lost.message
        during, ended = ask(pipeline, events, "and now?")
        # Answered from the last frame, which the window shows with its age.
        assert isinstance(during, ev.Frame) and during.captured_at == before.captured_at
        assert during.age >= 2.0 and ended.answer and not ended.cancelled
        assert vlm.requests[-1].frame is not None
        udp_camera.start()  # it comes back
        back = events.wait(lambda e: isinstance(e, ev.Notice) and "is back" in e.message, 30,
                           "the camera to come back")
        assert udp_camera.url in back.message
        pipeline.submit(ev.NewFrame())
        after, ended = ask(pipeline, events, "and now?")
        assert isinstance(after, ev.Frame) and after.captured_at > before.captured_at + 2.0
        assert ended.answer
    finally:
        pipeline.stop()
