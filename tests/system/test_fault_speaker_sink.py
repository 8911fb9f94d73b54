"""Fault matrix: the speaker's sink removed while an answer plays. The answer text is kept, an
error says what happened, and playback resumes on the next turn once a sink exists."""
from __future__ import annotations

import pytest

from tests.support.sessions import run_session

pytestmark = pytest.mark.system


def test_speaker_sink_removed_while_an_answer_plays():
    out = run_session("tests.system.sink_removed_session")
    assert out["sinks_left"] == "", out
    assert "failed" not in out, out
    assert out["turn1"]["answer"].startswith("word") and out["turn1"]["ended_after_s"] < 5, out
    assert any(stage == "playback" and "speaker" in message.lower()
               for stage, message in out["errors"]), out
    assert out["turn2_played"], out
