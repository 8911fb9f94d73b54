"""Photo search over a folder of real pictures with the real offline analyser (EfficientNet-Lite0
tiles and RapidOCR): the right photo first, an index that only analyses what changed, resumes
after an interruption, and `glimpse search` as a user runs it."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from vision.search.photos import OfflineAnalyser, PhotoIndex, brute_force, photos
from tests.support import DATA, ROOT

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    import skimage.data

    out = tmp_path_factory.mktemp("photos")
    for name in ("coffee", "chelsea", "rocket", "astronaut"):
        cv2.imwrite(str(out / f"{name}.jpg"),
                    cv2.cvtColor(getattr(skimage.data, name)(), cv2.COLOR_RGB2BGR))
    (out / "trip").mkdir()
    for name in ("exit_sign.jpg", "extreme_ironing.jpg"):
        shutil.copy(DATA / name, out / "trip" / name)
    return out


@pytest.fixture(scope="module")
def analyser() -> OfflineAnalyser:
    a = OfflineAnalyser()
    a.load()
    return a


@pytest.fixture(scope="module")
def index(folder, analyser, tmp_path_factory):
    with PhotoIndex(tmp_path_factory.mktemp("index") / "photos.sqlite", analyser) as idx:
        report = idx.update(folder)
        assert report.added == 6 and not report.failed
        yield idx


@pytest.mark.parametrize("query, first", [
    ("a cat", "chelsea.jpg"), ("a cup of coffee", "coffee.jpg"), ("rocket", "rocket.jpg"),
    ("exit sign", "exit_sign.jpg"), ("taxi", "extreme_ironing.jpg"),
    ("a vehicle in traffic", "extreme_ironing.jpg"),
])
def test_the_right_photo_comes_first(index, folder, query, first):
    hits = index.search(query, 3, folder)
    assert hits and Path(hits[0].path).name == first
    assert hits[0].reason != "no match"
    assert all(hits[0].score > h.score for h in hits[1:])


def test_no_photo_matches_a_bicycle(index, folder):
    assert index.search("bicycle", 3, folder) == []


def test_the_sign_matches_by_its_text(index, folder):
    hit = index.search("exit", 1, folder)[0]
    assert Path(hit.path).name == "exit_sign.jpg" and 'text: "EXIT"' in hit.reason


def test_the_index_agrees_with_brute_force(index, folder, analyser):
    baseline = brute_force(analyser, photos(folder), "a cat", 1)
    assert Path(baseline[0].path).name == Path(index.search("a cat", 1, folder)[0].path).name


def test_updates_only_what_changed_and_resumes(folder, analyser, tmp_path):
    work = tmp_path / "photos"
    shutil.copytree(folder, work)
    with PhotoIndex(tmp_path / "i.sqlite", analyser) as idx:
        stopped = idx.update(work, should_stop=lambda: idx.count() >= 2)
        assert idx.count() == 2 and stopped.added == 2  # interrupted: two committed
    with PhotoIndex(tmp_path / "i.sqlite", analyser) as idx:  # reopened: it resumes
        resumed = idx.update(work)
        assert (resumed.added, resumed.unchanged) == (4, 2)
        again = idx.update(work)
        assert (again.analysed, again.unchanged) == (0, 6)
        os.utime(work / "rocket.jpg", ns=(1, 1))  # touched
        (work / "coffee.jpg").unlink()
        (work / "broken.jpg").write_bytes(b"not a picture")
        changed = idx.update(work)
        assert (changed.changed, changed.removed, changed.unchanged) == (1, 1, 4)
        assert len(changed.failed) == 1 and "broken.jpg" in changed.failed[0]
        assert idx.search("a cup of coffee", 3, work) == []


def test_glimpse_search_command(folder, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "ui.cli", "--offline", "search", "a cat", str(folder),
         "--top", "2", "--json", "--index", str(tmp_path / "cli.sqlite")],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    assert Path(document["results"][0]["path"]).name == "chelsea.jpg"
    assert "photos/s" in proc.stderr
    missing = subprocess.run([sys.executable, "-m", "ui.cli", "search", "cat",
                              str(tmp_path / "nowhere")], cwd=ROOT, capture_output=True,
                             text=True, timeout=120)
    assert missing.returncode == 1 and "is not a folder" in missing.stderr
