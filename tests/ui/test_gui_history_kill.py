"""A window process killed mid-turn (SIGKILL) or told to stop (SIGTERM): the turns finished
before it are in `glimpse history` after restart, and the store is not damaged. SIGTERM closes
the window as the user would: exit status 0, promptly, with no traceback."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import PySide6  # noqa: F401 - required: a broken install fails here, never skips
from tests.support import ROOT


def run_window_until_mid_turn(data: Path, turns: int = 3, wanted: str = "",
                              env: dict | None = None) -> subprocess.Popen:
    """The window process once it printed `wanted` (default: the last turn is answering)."""
    wanted = wanted or f"TOKEN {turns}"
    env = dict(os.environ, GLIMPSE_DATA_DIR=str(data), QT_QPA_PLATFORM="offscreen", **(env or {}))
    proc = subprocess.Popen([sys.executable, "-m", "tests.ui.history_session", "--turns",
                             str(turns)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    seen: list[str] = []
    deadline = time.monotonic() + 60
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline().strip()  # the session prints a line per step
        if not line:
            if proc.poll() is not None:
                pytest.fail(f"the window exited early: {proc.stderr.read()[-2000:]}")
            continue
        seen.append(line)
        if line == wanted:
            return proc
    proc.kill()
    pytest.fail(f"the window never printed {wanted!r}: {seen}")


def history_json(data: Path) -> dict:
    env = dict(os.environ, GLIMPSE_DATA_DIR=str(data))
    out = subprocess.run([sys.executable, "-m", "ui.cli", "history", "list", "--json"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


#: A signalled window ends within this: quitting takes about a second at most here (the pipeline's
#: stop timeout is 2 s); ten leaves room for a loaded machine and still catches a hang.
CLOSE_S = 10


def closed_within(proc: subprocess.Popen, seconds: float) -> int:
    try:
        return proc.wait(seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"the window was still running {seconds} s after the signal")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_turns_finished_before_a_kill_are_in_history(tmp_path, sig):
    data = tmp_path / "data"
    proc = run_window_until_mid_turn(data)
    proc.send_signal(sig)
    # SIGTERM is a stop asked for: the window closes as the user would (exit status 0).
    status = closed_within(proc, CLOSE_S)
    assert status == (0 if sig == signal.SIGTERM else -sig), proc.stderr.read()[-3000:]
    history = history_json(data)
    turns = [(t["turn_id"], t["question"]) for t in history["turns"]]
    assert turns == [(1, "question number 1"), (2, "question number 2")]
    assert all(t["answer"] and t["has_thumbnail"] for t in history["turns"])
    db = sqlite3.connect(data / "history.sqlite3")
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()
    # `show` and `export` read the same turns.
    env = dict(os.environ, GLIMPSE_DATA_DIR=str(data))
    show = subprocess.run([sys.executable, "-m", "ui.cli", "history", "show", "2"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    assert show.returncode == 0 and "**You:** question number 2" in show.stdout
    md = tmp_path / "h.md"
    subprocess.run([sys.executable, "-m", "ui.cli", "history", "export", str(md)], cwd=ROOT,
                   env=env, check=True, capture_output=True, timeout=60)
    text = md.read_text()
    assert "## Turn 1 (Ask" in text and "h_frames/turn-2.jpg" in text
    assert (tmp_path / "h_frames" / "turn-2.jpg").read_bytes()[:2] == b"\xff\xd8"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_sigterm_closes_an_idle_window_like_closing_it(tmp_path, signum):
    """A logout or `kill` (SIGTERM), or Ctrl+C in the terminal (SIGINT)."""
    data, settings = tmp_path / "data", tmp_path / "config"
    settings.mkdir()
    (settings / "config.toml").write_text('[ui]\ntheme = "dark"\n')
    before = {p.name: p.read_bytes() for p in settings.iterdir()}
    proc = run_window_until_mid_turn(data, turns=1, wanted="ENDED 1",
                                     env={"GLIMPSE_CONFIG_DIR": str(settings)})
    proc.send_signal(signum)
    status = closed_within(proc, CLOSE_S)
    _out, err = proc.communicate(timeout=10)
    assert status == 0, err[-3000:]
    assert "Traceback" not in err, err[-2000:]
    # The turn that ended just before was committed by the history recorder on the way out.
    turns = history_json(data)["turns"]
    assert [(t["turn_id"], t["question"], bool(t["answer"])) for t in turns] == [
        (1, "question number 1", True)]
    assert {p.name: p.read_bytes() for p in settings.iterdir()} == before
