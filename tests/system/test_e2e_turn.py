"""A full turn end to end, with the offline pack only and real everything:

a spoken question (Piper) is played into the virtual PulseAudio microphone while the camera is a
video file; push-to-talk down and up; Whisper tiny.en transcribes it; the offline describer reads
the sign in the frame chosen at release; Piper speaks the answer through PortAudio into the
virtual speaker; the speaker's monitor recording, transcribed with real Whisper, matches the
answer; and the turn's Metrics timeline is complete.

The video shows a page of text for 2 s, then an exit sign for 8 s (looped). The key is pressed
only once the sign is on the preview, so an answer that reads the page would mean the frame came
from the wrong moment.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import soundfile as sf

from assistant import events as ev
from assistant.config import Config
from audio.asr.engines import normalize
from tests.support import whisper as sw
from tests.support.rig.camera import shaken
from tests.support.events import EventLog
from ui.bootstrap import bootstrap
from tests.support import DATA

pytestmark = pytest.mark.system
SIZE = (640, 480)


def _sign_video(path: Path, fps: float = 15.0) -> Path:
    rng = np.random.default_rng(3)
    page = cv2.resize(cv2.imread(str(DATA / "page.jpg")), SIZE)
    sign = cv2.resize(cv2.imread(str(DATA / "exit_sign.jpg")), SIZE)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, SIZE)
    for image, seconds in ((page, 2.0), (sign, 8.0)):
        for _ in range(int(fps * seconds)):
            writer.write(shaken(image, rng, shift=2, noise=2.0))
    writer.release()
    return path


def _question(path: Path) -> Path:
    speech = sw.piper_speech("What does the sign say?")
    sf.write(path, np.concatenate([speech, np.zeros(6400, np.float32)]), 16000)
    return path


def _is_sign(preview: np.ndarray) -> bool:
    # The sign photo is mostly green and dark; the page is bright grey paper.
    b, g, r = (float(c) for c in preview.reshape(-1, 3).mean(axis=0))
    return g > r + 10 or (b + g + r) / 3 < 110


def test_spoken_question_about_the_camera_is_answered_aloud(virtual_audio, tmp_path,
                                                            no_thread_leak):
    import sounddevice

    sounddevice._terminate()  # see the rig's audio server
    sounddevice._initialize()
    video = _sign_video(tmp_path / "camera.mp4")
    question = _question(tmp_path / "question.wav")
    config = Config()
    for key, value in (("models.offline", True), ("asr.model", "whisper:tiny.en"),
                       ("vlm.backend", "describer"), ("camera.source", str(video)),
                       ("earcons.enabled", False), ("tts.voice", "piper:en_US-joe-medium")):
        config = config.with_value(key, value)
    pipeline = bootstrap(config)
    pipeline.start()
    try:
        assert pipeline.wait_ready(120)
        log = EventLog(pipeline)
        previews = []
        log.wait_for(lambda e: isinstance(e, ev.Preview) and _is_sign(e.image)
                     and not previews.append(e), timeout=30)
        with virtual_audio.record_speaker() as recording:
            pipeline.submit(ev.PushToTalkDown())
            player = virtual_audio.play_into_mic(question)
            assert player.wait(30) == 0
            pipeline.submit(ev.PushToTalkUp())
            metrics = log.wait_type(ev.Metrics, timeout=90)
            ended = log.wait_type(ev.TurnEnded)
        frame = log.wait_type(ev.Frame)
    finally:
        pipeline.stop()

    errors = [e.message for e in log.of(ev.ErrorEvent)]
    assert not errors, errors
    assert "sign" in normalize(ended.transcript), ended.transcript
    # The frame is of the view the question was about: the sign, not the page before it, taken
    # before the release. It may be the look-ahead's frozen frame of that same settled view,
    # taken before the press (the camera keeps it while the view does not change).
    assert _is_sign(frame.image)
    assert previews[0].captured_at - 0.5 <= frame.captured_at <= metrics.release + 0.1
    assert _is_sign(frame.image)
    assert "EMERGENCY EXIT" in ended.answer.upper() and "page" not in ended.answer.lower()
    # Every mark of the timeline is there, in causal order.
    marks = {name: getattr(metrics, name) for name in ev.Metrics.MARKS}
    assert all(v is not None for v in marks.values()), marks
    assert marks["press"] <= marks["release"] <= marks["final_transcript"] <= marks["first_token"]
    assert marks["first_token"] <= marks["first_audio_queued"] <= marks["first_audio_played"]
    assert not metrics.cancelled
    # What the speaker played, heard back by real Whisper, is the answer.
    heard = sw.transcribe_tiny_en(recording.samples)
    answer_words = set(normalize(ended.answer).split())
    heard_words = set(normalize(heard).split())
    assert answer_words and answer_words <= heard_words | {"text"}, (ended.answer, heard)
