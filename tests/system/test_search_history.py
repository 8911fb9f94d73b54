"""Searching the conversation history: real turns saved with their real thumbnails (the 160 px
JPEGs the history keeps), the real offline analyser, and `glimpse search QUERY` with no folder
as a user runs it. The right turn comes first by its picture, or by what was said in it; a
deleted turn leaves the index; nothing matches a bicycle."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.history import HistoryStore, store_path
from tests.support.history import save_turns
from vision.search import history_index as history_search
from vision.search.photos import OfflineAnalyser, PhotoIndex
from tests.support import ROOT

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("data")
    save_turns(folder, session="s1")
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
