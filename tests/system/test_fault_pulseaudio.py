"""Fault matrix: PulseAudio killed mid-utterance (SIGKILL), restarted 2 s later. The audio said
so far is transcribed, the microphone reopens by itself, and the next turn works."""
from __future__ import annotations

import pytest

from tests.support.sessions import run_session

pytestmark = pytest.mark.system


def test_pulseaudio_killed_mid_utterance_and_restarted():
    out = run_session("tests.system.pulse_restart_session")
    assert "failed" not in out, out
    # What reached Glimpse before the server died (speech: the pre-roll alone is silence) went
    # to the recognizer and was answered. Audio still inside the server dies with it.
    assert out["turn1_audio_s"] >= 0.5 and out["turn1_audio_rms"] > 0.05, out
    assert out["turn1"]["transcript"] and out["turn1"]["answer"], out
    assert "microphone" in out["lost_message"].lower(), out
    # The microphone came back by itself once the server was there again.
    assert out["back"] == "The microphone is back." and out["reopened_after_s"] < 10, out
    assert out["turn2"]["answer"] and not out["turn2"]["cancelled"], out
    assert out["turn2"]["audio_s"] >= 1.5 and out["turn2"]["rms"] > 0.01, out
