"""Searching the conversation history: real turns saved with their real thumbnails (the 160 px
JPEGs the history keeps), the real offline analyser, and `glimpse search QUERY` with no folder
as a user runs it. The right turn comes first by its picture, or by what was said in it; a
deleted turn leaves the index; nothing matches a bicycle."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest

from assistant.history import HistoryStore, TurnRecord, store_path, thumbnail_jpeg
from vision import history_search
from vision.search import OfflineAnalyser, PhotoIndex

pytestmark = pytest.mark.system
DATA = Path(__file__).parents[1] / "data"
ROOT = Path(__file__).parents[2]


def _photo(name: str):
    import skimage.data

    if name.endswith(".jpg"):
        return cv2.imread(str(DATA / name))
    return cv2.cvtColor(getattr(skimage.data, name)(), cv2.COLOR_RGB2BGR)


TURNS = [  # (turn, picture, question, answer)
    (1, "astronaut", "Describe the scene.", "One person, at twelve o'clock."),
    (2, "coffee", "What is this?", "It looks like an espresso."),
    (3, "extreme_ironing.jpg", "What do you see?", "Two people, at eleven and one o'clock."),
    (4, "chelsea", "What is on the sofa?", "I think it shows a tabby."),
    (5, None, "Where did I leave my keys?", "I don't see keys. I see a table."),
]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("data")
    store = HistoryStore(store_path(folder))
    now = time.time()
    for turn, picture, question, answer in TURNS:
        thumb = thumbnail_jpeg(_photo(picture)) if picture else None
        store.append(TurnRecord(turn_id=turn, started=now - 100 + turn, question=question,
                                answer=answer, thumbnail=thumb, session="s1"))
    store.close()
    return folder


@pytest.fixture(scope="module")
def records(data_dir):
    store = HistoryStore(store_path(data_dir))
    try:
        return store.turns()
    finally:
        store.close()


@pytest.fixture(scope="module")
def index(records, tmp_path_factory):
    analyser = OfflineAnalyser()
    analyser.load()
    with PhotoIndex(tmp_path_factory.mktemp("index") / "history.sqlite", analyser) as idx:
        report = history_search.update(idx, records)
        assert report.added == 4 and not report.failed  # turn 5 has no picture
        yield idx


@pytest.mark.parametrize("query, turn", [
    ("a cup", 2), ("taxi", 3), ("a cat", 4), ("my keys", 5), ("person", 1),
])
def test_the_right_turn_comes_first(index, records, query, turn):
    hits = history_search.search(index, records, query, top=3)
    assert hits and hits[0].record.turn_id == turn, [(h.record.turn_id, h.reason) for h in hits]
    assert hits[0].reason


def test_nothing_matches_a_bicycle_and_a_deleted_turn_leaves_the_index(index, records):
    assert history_search.search(index, records, "bicycle") == []
    kept = [r for r in records if r.turn_id != 2]
    report = history_search.update(index, kept)
    assert (report.added, report.removed, report.unchanged) == (0, 1, 3)
    assert all(h.record.turn_id != 2 for h in history_search.search(index, kept, "a cup"))


def test_glimpse_search_without_a_folder_searches_the_history(data_dir, tmp_path):
    env = {**os.environ, "GLIMPSE_DATA_DIR": str(data_dir),
           "GLIMPSE_CONFIG": str(tmp_path / "config.toml")}
    command = [sys.executable, "-m", "ui.cli", "--offline", "search", "a cup", "--top", "2",
               "--index", str(tmp_path / "history.sqlite")]
    proc = subprocess.run([*command, "--json"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    assert document["history"] is True
    assert document["results"][0]["turn"] == 2
    assert document["results"][0]["question"] == "What is this?"
    plain = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=300)
    assert plain.returncode == 0, plain.stderr
    first = plain.stdout.splitlines()[0]
    assert "turn 2, " in first and "What is this?" in first, plain.stdout
    # Nothing saved yet: a clear message, not a crash.
    empty = subprocess.run([*command[:-2]], cwd=ROOT, capture_output=True, text=True,
                           timeout=300, env={**env, "GLIMPSE_DATA_DIR": str(tmp_path / "none")})
    assert empty.returncode == 1
    assert "There is no saved conversation to search yet" in empty.stderr
