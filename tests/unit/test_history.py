"""The history store on real SQLite files, and the recorder on a pipeline of fakes."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from assistant import events as ev
from assistant.config import Config
from assistant.history import (
    LOCK_TIMEOUT_S,
    HistoryRecorder,
    HistoryStore,
    TurnRecord,
    open_store,
    store_path,
)
from tests.support.fakes import FakeCamera, RecordingSpeaker, ScriptedTts, ScriptedVlm
from tests.support.events import EventLog
from ui.bootstrap import Parts, bootstrap


def record(turn_id: int, session: str = "s1", **kw) -> TurnRecord:
    base = dict(turn_id=turn_id, started=time.time(), question=f"question {turn_id}",
                transcript=f"question {turn_id}", answer=f"answer {turn_id}", engine="describer",
                timings_ms={"done": 12.5}, session=session)
    base.update(kw)
    return TurnRecord(**base)


def test_turns_survive_reopening_and_sessions_are_told_apart(tmp_path):
    path = store_path(tmp_path)
    store = HistoryStore(path)
    for i in (1, 2):
        store.append(record(i, "morning"))
    store.append(record(3, "noon", thumbnail=b"\xff\xd8jpeg"))
    store.close()
    again = HistoryStore(path)
    assert [r.turn_id for r in again.turns()] == [1, 2, 3]
    assert again.get(3).thumbnail == b"\xff\xd8jpeg" and again.get(3).timings_ms == {"done": 12.5}
    assert [r.turn_id for r in again.previous_session(exclude="noon")] == [1, 2]
    assert [r.turn_id for r in again.previous_session(exclude="evening")] == [3]
    assert again.last_turn_id() == 3
    assert again.turns(limit=1)[0].turn_id == 3


def test_prune_keeps_only_recent_days(tmp_path):
    store = HistoryStore(store_path(tmp_path))
    store.append(record(1, started=time.time() - 10 * 86400))
    store.append(record(2))
    assert store.prune(keep_days=7) == 1
    assert [r.turn_id for r in store.turns()] == [2]


def test_clear_deletes_turns_pictures_and_set_aside_files(tmp_path):
    path = store_path(tmp_path)
    (tmp_path / f"{path.name}.bad-20260101-000000").write_bytes(b"old")
    store = HistoryStore(path)
    secret = b"\xff\xd8" + b"SECRET-PICTURE" * 500
    store.append(record(1, answer="a private answer", thumbnail=secret))
    store.clear()
    assert store.turns() == []
    store.close()
    on_disk = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert b"SECRET-PICTURE" not in on_disk and b"a private answer" not in on_disk
    assert not list(tmp_path.glob("*.bad-*"))


def test_clear_deletes_the_files_and_the_store_starts_afresh(tmp_path):
    path = store_path(tmp_path)
    notices: list[str] = []
    store = HistoryStore(path, notify=notices.append)
    store.append(record(1, thumbnail=b"\xff\xd8jpeg"))
    store.clear()
    assert list(tmp_path.iterdir()) == []  # database, journal and shared memory all gone
    assert store.available and store.turns() == [] and store.last_turn_id() == 0
    assert list(tmp_path.iterdir()) == []  # reading a cleared store creates nothing
    store.append(record(2))  # the window keeps recording: the next turn starts a new file
    assert [r.turn_id for r in store.turns()] == [2] and path.exists()
    store.close()
    assert [r.turn_id for r in HistoryStore(path, notify=notices.append).turns()] == [2]
    assert notices == []


def test_clear_while_another_program_has_the_store_open_still_deletes_every_turn(tmp_path):
    path = store_path(tmp_path)
    store = HistoryStore(path)
    store.append(record(1, answer="a private answer"))
    other = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); "
         "db.execute('SELECT COUNT(*) FROM turns').fetchone(); print('open', flush=True); "
         "sys.stdin.read()", str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "open"
        store.clear()  # its files cannot go while it is open elsewhere; the turns do
        assert path.exists() and store.turns() == []
        store.close()
    finally:
        other.communicate("", timeout=10)
    again = HistoryStore(path)
    assert again.turns() == []
    again.close()
    assert b"a private answer" not in path.read_bytes()


def test_cli_history_clear_removes_the_files(tmp_path):
    data = tmp_path / "data"
    store = HistoryStore(store_path(data))
    store.append(record(1))
    store.close()
    env = dict(os.environ, GLIMPSE_DATA_DIR=str(data), GLIMPSE_CONFIG_DIR=str(tmp_path / "cfg"))

    def glimpse(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "ui.cli", "history", *args], env=env,
                              capture_output=True, text=True, timeout=60,
                              cwd=Path(__file__).resolve().parents[2])

    cleared = glimpse("clear")
    assert cleared.returncode == 0 and "history cleared" in cleared.stderr, cleared.stderr
    assert list(data.iterdir()) == []
    listed = glimpse("list", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout)["turns"] == [], listed.stderr
    notices: list[str] = []
    fresh = HistoryStore(store_path(data), notify=notices.append)  # a later run, no complaint
    fresh.append(record(1))
    assert [r.turn_id for r in fresh.turns()] == [1] and notices == []
    fresh.close()


def test_corrupt_store_is_set_aside_with_one_notice(tmp_path):
    path = store_path(tmp_path)
    path.write_bytes(b"this is not a database" * 100)
    notices: list[str] = []
    store = HistoryStore(path, notify=notices.append)
    assert store.available and len(notices) == 1
    assert "could not be used" in notices[0] and "a new one was started" in notices[0]
    aside = list(tmp_path.glob("history.sqlite3.bad-*"))
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not a database")
    store.append(record(1))
    assert [r.turn_id for r in store.turns()] == [1]


def test_damaged_pages_are_found_and_set_aside(tmp_path):
    path = store_path(tmp_path)
    store = HistoryStore(path)
    for i in range(1, 40):
        store.append(record(i, answer="x" * 2000))
    store.close()
    data = bytearray(path.read_bytes())
    page = 4096
    data[3 * page:6 * page] = b"\x00\x13garbage" * (3 * page // 9) + b"\x00" * (3 * page % 9)
    path.write_bytes(bytes(data))
    notices: list[str] = []
    fresh = HistoryStore(path, notify=notices.append)
    assert len(notices) == 1 and fresh.turns() == []
    assert list(tmp_path.glob("history.sqlite3.bad-*"))


def test_a_store_locked_by_another_program_loses_no_turn_of_the_conversation(tmp_path):
    path = store_path(tmp_path)
    store = HistoryStore(path)
    store.append(record(1))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    notices: list[str] = []
    store.notify = notices.append
    recorder = HistoryRecorder(store, notices.append, session="s")
    # The conductor never waits for the disk: with the store locked, a write blocks for the
    # store's whole lock timeout (LOCK_TIMEOUT_S, 2 s), while queuing a turn takes microseconds;
    # half the timeout tells the two apart with a second to spare either way.
    conductor = threading.Thread(target=lambda: (
        recorder.on_event(ev.TurnStarted(turn_id=2)),
        recorder.on_event(ev.TurnEnded(turn_id=2, transcript="q", answer="a"))))
    conductor.start()
    conductor.join(LOCK_TIMEOUT_S / 2)
    assert not conductor.is_alive(), "on_event waited for the locked store"
    assert recorder.wait_idle(10)
    other.execute("ROLLBACK")
    other.close()
    assert recorder.failed == 0 and recorder.saved == 1
    assert any("set aside" in n or "new one" in n for n in notices), notices
    assert [r.turn_id for r in store.turns()] == [2]
    assert list(tmp_path.glob("history.sqlite3.bad-*"))
    recorder.close()


def test_history_off_keeps_nothing_on_disk(tmp_path):
    assert open_store(tmp_path / "data", enabled=False, keep_days=30, notify=print) is None
    assert not (tmp_path / "data").exists()


def test_recorder_saves_each_finished_turn_with_its_frame_and_timings(tmp_path, no_thread_leak):
    image = cv2.imread("tests/data/extreme_ironing.jpg")
    config = Config().with_value("camera.source", "fake")
    pipeline = bootstrap(config, parts=Parts(audio_in=False, asr=False),
                         camera=FakeCamera([image]), vlm=ScriptedVlm(), tts=ScriptedTts(),
                         speaker=RecordingSpeaker())
    store = HistoryStore(store_path(tmp_path))
    notices: list[str] = []
    recorder = HistoryRecorder(store, notices.append, session="run-1")
    pipeline.add_listener(recorder.on_event)
    pipeline.continue_turns(41)
    log = EventLog(pipeline)
    pipeline.start()
    try:
        assert pipeline.wait_ready(10)
        pipeline.submit(ev.Ask(text="what is on the taxi?"))
        log.wait_type(ev.TurnEnded, timeout=20)
        pipeline.submit(ev.Describe())
        log.wait_for(lambda e: isinstance(e, ev.TurnEnded) and e.turn_id == 42, timeout=20)
        assert recorder.wait_idle(10)
    finally:
        pipeline.stop()
        recorder.close()
    first, second = store.turns()
    assert (first.turn_id, second.turn_id) == (41, 42)
    assert first.mode == "ask" and first.question == "what is on the taxi?"
    assert first.answer == "I see a cat on a mat. It is asleep."
    assert first.engine and first.session == "run-1" and not first.cancelled
    assert "done" in first.timings_ms and first.frame_age_s is not None
    thumb = cv2.imdecode(np.frombuffer(first.thumbnail, np.uint8), cv2.IMREAD_COLOR)
    assert thumb.shape[1] == 160 and 1000 < len(first.thumbnail) < 30000
    assert second.mode == "describe" and second.question == ""
    assert notices == []
