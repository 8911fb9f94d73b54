"""Fault matrix: the speaker's sink removed while an answer plays. The answer text is kept, an
error says what happened, and playback resumes on the next turn once a sink exists."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.rig import unavailable

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.system


def test_speaker_sink_removed_while_an_answer_plays():
    run = subprocess.run([sys.executable, "-m", "tests.system.sink_removed_session"], cwd=ROOT,
                         capture_output=True, text=True, timeout=180)
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    assert lines, run.stdout + run.stderr[-3000:]
    out = json.loads(lines[-1])
    if "norig" in out:
        unavailable(out["norig"])
    assert out["sinks_left"] == "", out
    assert "failed" not in out, out
    assert out["turn1"]["answer"].startswith("word") and out["turn1"]["ended_after_s"] < 5, out
    assert any(stage == "playback" and "speaker" in message.lower()
               for stage, message in out["errors"]), out
    assert out["turn2_played"], out
