"""The offline finder with its real models (EfficientNet-Lite0 tiles, RapidOCR, OpenCV's face and
people detectors) on real photos with known content: yes with a direction, and no."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vision.finder.offline import OfflineFinder
from vision.finder.words import target
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
    ("coffee", "Is my mug in view, where?", "Yes, I see a mug, at eleven o'clock"),
    ("chelsea", "Where is the cat?", "Yes, I see a cat, centre."),
    ("rocket", "Find the rocket", "Yes, I see a rocket, centre."),
    ("astronaut", "Is there anyone here?", "Yes, I see a person, centre, at the top."),
    ("astronaut", "Do you see a face?", "Yes, I see a face, centre, at the top."),
    ("exit_sign.jpg", "Find the exit sign", 'Yes, I see an exit sign: I read "EXIT", centre.'),
])
def test_yes_with_a_direction(finder, name, question, answer):
    result = ask(finder, name, question)
    assert result.found and result.sure
    assert result.sentences()[0].startswith(answer)
    assert result.text().endswith(".")  # the part that answered is named
    assert "Found by the" in result.text()


def test_several_cars_are_counted_with_their_directions(finder):
    result = ask(finder, "extreme_ironing.jpg", "How many taxis are there?")
    assert len(result.matches) == 2
    first = result.sentences()[0]
    assert first.startswith("Yes, I see two taxis: at eleven o'clock")
    assert "at one o'clock" in first


@pytest.mark.parametrize("name, question, instead", [
    ("coffee", "Do you see a bicycle?", "I see an espresso."),
    ("coffee", "Is there a cat?", "I see an espresso."),
    ("chelsea", "Is there a dog?", "I think I see an Egyptian Mau."),
    ("rocket", "Is there a person?", "I think I see a missile."),
    ("extreme_ironing.jpg", "Is there a boat?", "I see a taxicab."),
    ("exit_sign.jpg", "Find the stop sign", "I see a sign, but not the word STOP on it."),
])
def test_no_says_what_it_sees_instead(finder, name, question, instead):
    result = ask(finder, name, question)
    assert not result.found
    noun = target(question)
    assert result.sentences()[0] == f"I don't see a {noun}."
    assert instead in result.sentences()
    assert result.score < 0.15


def test_the_tile_finds_a_small_object_in_a_corner(finder):
    """The cup shrunk to a quarter of its size in one corner of a grey canvas: the whole
    picture's classifier guess misses it, a tile finds it, and its tile gives the direction."""
    cup = cv2.resize(photo("coffee"), (200, 133), interpolation=cv2.INTER_AREA)
    canvas = np.full((532, 800, 3), 127, np.uint8)
    canvas[399:532, 600:800] = cup
    result = finder.find(canvas, "cup")
    assert result.found
    assert result.where().startswith("at two o'clock, at the bottom")


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
