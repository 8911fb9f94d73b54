"""The offline finder with its real models (EfficientNet-Lite0 tiles, RapidOCR, OpenCV's face and
people detectors) on real photos with known content: yes with a direction, and no."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vision.finder.base import FinderOptions
from vision.finder.offline import OfflineFinder
from vision.finder.words import target, with_article
from vision.perception import claims
from tests.support import DATA

pytestmark = pytest.mark.system


def photo(name: str) -> np.ndarray:
    """A real photo at its own size: scikit-image's samples, or the repo's test pictures."""
    if name.endswith(".jpg"):
        return cv2.imread(str(DATA / name))
    import skimage.data

    return cv2.cvtColor(getattr(skimage.data, name)(), cv2.COLOR_RGB2BGR)


@pytest.fixture(scope="module")
def finder() -> OfflineFinder:
    f = OfflineFinder()
    f.load()
    assert not f.notes, f.notes
    return f


def ask(finder: OfflineFinder, name: str, question: str):
    return finder.find(photo(name), target(question))


@pytest.mark.parametrize("name, question, answer", [
    ("coffee", "Is my mug in view, where?", "Yes, I see a mug."),
    ("chelsea", "Where is the cat?", "Yes, I see a cat."),
    ("rocket", "Find the rocket", "Yes, I see a rocket."),
    ("astronaut", "Is there anyone here?", "Yes, I see a person, centre, at the top."),
    ("astronaut", "Do you see a face?", "Yes, I see a face, centre, at the top."),
    ("exit_sign.jpg", "Find the exit sign", 'Yes, I see an exit sign: I read "EXIT", centre.'),
])
def test_yes_with_a_direction_only_from_a_part_that_localises(finder, name, question, answer):
    result = ask(finder, name, question)
    assert result.found and result.sure and result.verdict == "yes"
    assert result.sentences()[0] == answer or result.sentences()[0].startswith(answer[:-1] + ",")
    assert "Found by the" in result.text()


def test_the_classifier_never_says_where_nor_counts(finder):
    """A tiled ImageNet label is no location: two taxis are "a taxi", with no clock hour."""
    result = ask(finder, "extreme_ironing.jpg", "How many taxis are there?")
    assert result.detector == "classifier"
    assert result.sentences()[0] in ("Yes, I see a taxi.",
                                     claims.cannot_tell("a taxi"))
    assert "o'clock" not in result.text()


@pytest.mark.parametrize("name, question, first", [
    ("coffee", "Do you see a bicycle?", "No, I don't see a bicycle."),
    ("coffee", "Is there a cat?", "No, I don't see a cat."),
    ("chelsea", "Is there a dog?", "No, I don't see a dog."),
    ("rocket", "Is there a person?", "No, I don't see anyone close by."),
])
def test_no_only_from_a_detector_that_reliably_finds_that_kind(finder, name, question, first):
    result = ask(finder, name, question)
    assert not result.found and result.verdict == "no"
    assert result.sentences()[0] == first


@pytest.mark.parametrize("name, question", [
    ("extreme_ironing.jpg", "Is there a boat?"),  # boats are not all ImageNet classes
    ("coffee", "Is there a horse?"),  # one class, a brown horse: never a no
    ("coffee", "Is there a giraffe?"),  # no class at all
])
def test_cannot_tell_without_a_detector_that_could_deny_it(finder, name, question):
    result = ask(finder, name, question)
    assert result.verdict == "unsure" and not result.found
    assert result.sentences()[0] == claims.cannot_tell(with_article(target(question)))


def test_no_one_is_said_only_after_the_side_look(finder):
    """scikit-image's cameraman: his face is turned to the viewfinder, so neither the frontal
    face cascade nor the people detector finds him. The side look does: "I can't tell", with
    what it may see, never "no one close by"."""
    for question, noun in (("Is there a person?", "a person"), ("Do you see a face?", "a face")):
        result = ask(finder, "claims/skimage-camera.jpg", question)
        assert result.verdict == "unsure" and not result.found, result.text()
        said = result.sentences()
        assert said[0] == claims.cannot_tell(noun)
        assert said[1].startswith("I may see a face turned to the side"), said


def test_watch_mode_skips_the_side_look(finder):
    """Watch mode waits for a yes: a frame with nobody is "I can't tell" there, without the
    side look's 0.2-0.4 s (which would more than double a watch frame)."""
    from vision.finder.base import WATCH

    watcher = OfflineFinder(WATCH, classifier=finder.classifier)
    result = watcher.find(photo("rocket"), "person")
    assert result.verdict == "unsure" and not result.found
    assert finder.find(photo("rocket"), "person").verdict == "no"


def test_nothing_is_denied_in_the_dark(finder):
    """The rocket photo at a sixth of its light: no "no one", no "no dog"."""
    dark = (photo("rocket").astype(np.float32) * 0.15).astype(np.uint8)
    for query, noun in (("person", "a person"), ("dog", "a dog")):
        result = finder.find(dark, query)
        assert result.verdict == "unsure", result.text()
        assert result.sentences()[0].startswith(
            f"I can't tell whether there is {noun}: the picture is too dark")


def test_a_sign_without_the_word_says_what_it_reads(finder):
    result = ask(finder, "exit_sign.jpg", "Find the stop sign")
    assert not result.found
    assert any('not the word STOP' in s and "EXIT" in s for s in result.sentences())


def test_the_tile_finds_a_small_object_in_a_corner(finder):
    """The cup shrunk to under a third of the width in one corner of a grey canvas: the whole
    picture's guess alone misses it, a tile finds it, but says no place for it."""
    cup = cv2.resize(photo("coffee"), (240, 160), interpolation=cv2.INTER_AREA)
    canvas = np.full((532, 800, 3), 127, np.uint8)
    canvas[372:532, 560:800] = cup
    whole = finder.find(canvas, "cup")
    assert whole.found and not whole.located and whole.where() == "", whole.text()
    alone = OfflineFinder(FinderOptions(grid=1), classifier=finder.classifier)
    assert not alone.find(canvas, "cup").found  # the whole picture alone: not found


def test_a_damaged_picture_is_one_clear_error(finder):
    with pytest.raises(ValueError, match="empty image"):
        finder.find(np.zeros((0, 0, 3), np.uint8), "cup")


def test_glimpse_find_on_a_picture_file_says_yes_with_where_and_no(tmp_path):
    """The command as a user types it: one --image file, offline; exit 0 found, 3 not found."""
    import json
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "config"))
    sign = str(root / "tests" / "data" / "exit_sign.jpg")

    def find(query: str) -> tuple[int, dict]:
        run = subprocess.run([sys.executable, "-m", "ui.cli", "--offline", "find", query,
                              "--image", sign, "--json"], cwd=root, env=env,
                             capture_output=True, text=True, timeout=300)
        return run.returncode, (json.loads(run.stdout) if run.stdout.strip() else
                                {"stderr": run.stderr[-2000:]})

    code, found = find("where is the exit sign")
    assert code == 0, found
    assert found["found"] and "EXIT" in found["answer"], found
    code, missing = find("a bicycle")
    assert code == 3 and not missing["found"], missing
