"""Fault matrix: the disk full, or the data folder read-only, while history is saved.
The turn completes, a notice says it is not in history, and nothing already saved is damaged.

The faults are real: a full tmpfs and a read-only bind mount, made in a private mount namespace
(`unshare -m`, needs root), so nothing outside the test changes."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from assistant.history import HistoryStore, TurnRecord, store_path
from tests.support.rig import unavailable
from tests.support.sessions import run_session as run_script

pytestmark = pytest.mark.system


def run_session(fault: str, data: Path, out: Path) -> dict:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        unavailable("needs root and unshare for a private mount namespace")
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        unavailable(f"mount namespaces are not allowed here: {probe.stderr.decode().strip()}")
    return run_script("tests.system.history_fault_session", "--fault", fault, "--data",
                      str(data), str(out), prefix=("unshare", "-m", "--propagation", "private"),
                      env={"QT_QPA_PLATFORM": "offscreen"}, result=out)


def test_disk_full_while_saving_history(tmp_path):
    result = run_session("full", tmp_path / "data", tmp_path / "out.json")
    # Every turn completed, answered, in the window.
    assert [(e["turn"], e["cancelled"], bool(e["answer"])) for e in result["ended"]] == [
        (1, False, True), (2, False, True), (3, False, True)]
    assert result["conversation"] == ["before the disk fills", "on a full disk",
                                      "after space is freed"]
    # One notice for the turn that could not be saved, saying why and that nothing stops.
    failed = [n for n in result["notices"] if "could not be saved in history" in n]
    assert len(failed) == 1 and "Turn 2" in failed[0] and "the disk is full" in failed[0]
    assert "the conversation goes on" in failed[0]
    # What was saved before is intact, and saving resumes once there is space.
    assert result["integrity"] == "ok"
    assert result["saved_after"] == ["before the disk fills", "after space is freed"]


def test_read_only_data_folder(tmp_path):
    data = tmp_path / "data"
    store = HistoryStore(store_path(data))
    for i in (1, 2):
        store.append(TurnRecord(turn_id=i, started=time.time(), question=f"earlier {i}",
                                answer="kept", session="before"))
    store.close()
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in data.iterdir()}
    result = run_session("readonly", data, tmp_path / "out.json")
    assert [(e["turn"], e["cancelled"], bool(e["answer"])) for e in result["ended"]] == [
        (3, False, True)]
    # One notice: earlier turns shown, new ones not saved; numbering goes on after them.
    notices = [n for n in result["notices"] if "History cannot be kept" in n]
    assert len(notices) == 1, result["notices"]
    assert f"the data folder {data} is read-only" in notices[0]
    assert "earlier turns are shown" in notices[0] and "not saved this session" in notices[0]
    assert result["conversation"] == ["earlier 1", "earlier 2", "on a read-only folder"]
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in data.iterdir()}
    assert after == before  # nothing already saved was touched
    again = HistoryStore(store_path(data))
    assert [r.question for r in again.turns()] == ["earlier 1", "earlier 2"]
