"""A push-to-talk turn through the window with the real engines, on Xvfb, with the virtual
microphone and speaker.

The window (tests/ui/real_session.py, in a subprocess on a private X display) builds the real
pipeline from a config file: the camera is a video of an exit sign, Whisper tiny.en hears, the
offline describer answers, Piper speaks through PortAudio into the virtual speaker. Space is held
with real X key events while a question spoken by Piper ("What does the sign say?") plays into the
virtual microphone. The conversation view must show the question and an answer that reads the
sign, the status line's timeline must be filled, no error dialog may open, and what the speaker
played, heard back by real Whisper, must be the answer. The finished turn is saved as
artifacts/screenshots/real-engines-turn.png.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.support.rig import unavailable
from tests.support.rig.display import ARTIFACTS, DisplayError, VirtualDisplay
from tests.support.sessions import wait_file
from tests.support import ROOT

pytestmark = pytest.mark.system
DATA = ROOT / "tests" / "data"
SIZE = (640, 480)
SETTINGS = (("models.offline", True), ("asr.model", "whisper:tiny.en"),
            ("vlm.backend", "describer"), ("tts.voice", "piper:en_US-joe-medium"),
            ("earcons.enabled", False), ("ui.show_first_run", False),
            ("ui.announce_ready", False),
            # Glimpse's own voice, whatever the desktop says about a screen reader: the speaker
            # must play the answer.
            ("ui.answer_voice", "glimpse"))


def _sign_video(path: Path, fps: float = 15.0, seconds: float = 4.0) -> Path:
    """The exit sign, slightly shaken frame to frame like a hand-held camera (looped by the
    camera)."""
    import cv2

    from tests.support.rig.camera import shaken

    rng = np.random.default_rng(5)
    sign = cv2.resize(cv2.imread(str(DATA / "exit_sign.jpg")), SIZE)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, SIZE)
    for _ in range(int(fps * seconds)):
        writer.write(shaken(sign, rng, shift=2, noise=2.0))
    writer.release()
    return path


def _question(path: Path) -> Path:
    import soundfile as sf

    from tests.support import whisper as sw

    speech = sw.piper_speech("What does the sign say?")
    sf.write(path, np.concatenate([speech, np.zeros(6400, np.float32)]), 16000)
    return path


def _write_config(folder: Path, video: Path) -> Path:
    from assistant import config as config_mod

    config = config_mod.Config()
    for key, value in SETTINGS + (("camera.source", str(video)),):
        config = config.with_value(key, value)
    return config_mod.save(config, folder / "config.toml")


@pytest.fixture(scope="module")
def turn(virtual_audio, tmp_path_factory):
    from tests.support import whisper as sw

    sw.tiny_en_ct2()  # skips with a reason when the Whisper weight package is missing
    tmp = tmp_path_factory.mktemp("real-gui")
    video = _sign_video(tmp / "camera.mp4")
    question = _question(tmp / "question.wav")
    (tmp / "config").mkdir()
    _write_config(tmp / "config", video)
    display = VirtualDisplay()
    try:
        display.start()
    except (DisplayError, OSError) as exc:
        unavailable(str(exc))
    pressed, played, out = tmp / "pressed", tmp / "played", tmp / "session.json"
    env = display.env(PYTHONPATH=str(ROOT), GLIMPSE_CONFIG_DIR=str(tmp / "config"),
                      **virtual_audio.env)
    proc = subprocess.Popen([sys.executable, "-m", "tests.ui.real_session", str(out),
                             "--pressed", str(pressed), "--played", str(played)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        if not wait_file(pressed, proc, 150):
            proc.kill()
            output = proc.communicate(timeout=10)[0]
            pytest.fail(f"the window did not get ready or did not take Space:\n{output[-4000:]}")
        with virtual_audio.record_speaker() as recording:
            player = virtual_audio.play_into_mic(question)
            assert player.wait(30) == 0, "paplay failed"
            played.write_text("played")
            try:
                output = proc.communicate(timeout=90)[0]
            except subprocess.TimeoutExpired:
                proc.kill()
                output = proc.communicate(timeout=10)[0]
                pytest.fail(f"the turn did not finish:\n{output[-4000:]}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
        display.stop()
    assert proc.returncode == 0, output[-4000:]
    result = json.loads(out.read_text())
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "real-engines-session.json").write_text(json.dumps(result, indent=2))
    return result, recording


def test_the_window_runs_the_real_pipeline(turn):
    result, _ = turn
    assert result["platform"] == "xcb"
    assert result["status_ready"] == "Ready", result["status_ready"]
    details = result["status_details"]
    for stage in ("Speech recognition", "Answers", "Voice"):
        assert f"{stage}: ready" in details, details
    assert result["held_through_clip"], "Space was let go before the question had played"


def test_conversation_shows_question_and_answer(turn):
    from audio.asr.engines import normalize

    result, _ = turn
    assert result["turns"] == 1 and not result["cancelled"]
    assert "sign" in normalize(result["question"]), result["question"]
    assert "EMERGENCY EXIT" in result["answer"].upper(), result["answer"]
    assert result["thumbnail"], "the turn shows no picture of the question"
    shown = " ".join(result["conversation_text"].split())
    assert " ".join(result["question"].split()) in shown, shown
    assert " ".join(result["answer"].split()) in shown, shown
    assert result["talk_text"] == "Hold to talk (Space)"


def test_status_line_timeline_is_filled(turn):
    from assistant import events as ev

    result, _ = turn
    timeline = result["timeline"]
    assert timeline.startswith("Last turn (") and "from release:" in timeline, timeline
    for label in ("transcript", "first word", "first audio", "done"):
        assert f"{label} " in timeline and " ms" in timeline, timeline
    marks = result["metrics"]
    assert all(marks[name] is not None for name in ev.Metrics.MARKS), marks
    assert marks["press"] <= marks["release"] <= marks["final_transcript"] <= marks["first_token"]
    assert marks["first_token"] <= marks["first_audio_queued"] <= marks["first_audio_played"]
    assert not marks["cancelled"]


def test_no_error_and_no_dialog(turn):
    result, _ = turn
    assert result["errors"] == [], result["errors"]
    assert result["turn_errors"] == []
    assert not result["error_dialog"] and not result["modal"]


def test_the_speaker_played_the_answer(turn):
    from audio.asr.engines import normalize
    from tests.support import whisper as sw

    result, recording = turn
    assert recording.samples.size > 0, "nothing was recorded from the virtual speaker"
    heard = sw.transcribe_tiny_en(recording.samples)
    report = ARTIFACTS / "real-engines-session.json"
    report.write_text(json.dumps(dict(result, speaker_heard=heard), indent=2))
    answer_words = set(normalize(result["answer"]).split())
    heard_words = set(normalize(heard).split())
    # The same tolerance as the headless end-to-end test (tests/system/test_e2e_turn.py).
    assert answer_words and answer_words <= heard_words | {"text"}, (result["answer"], heard)


def test_screenshot_of_the_finished_turn(turn):
    from PIL import Image, ImageStat

    result, _ = turn
    path = Path(result["screenshot"])
    assert path == ARTIFACTS / "real-engines-turn.png" and path.is_file()
    image = Image.open(path).convert("L")
    assert image.width >= 600 and image.height >= 400
    assert ImageStat.Stat(image).stddev[0] > 10, "the screenshot looks blank"
