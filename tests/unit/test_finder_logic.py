"""The finder's pure parts: question forms, the vocabulary, tiles and the wording."""
from __future__ import annotations

import numpy as np
import pytest

from vision.finder.base import FinderOptions, FindResult, Match, where
from vision.finder.offline import tiles
from vision.finder.words import Vocabulary, target, wants_count, wants_watch


@pytest.mark.parametrize("question, thing", [
    ("Is my mug in view, where?", "mug"),
    ("Is there a burger here?", "burger"),
    ("find the exit sign", "exit sign"),
    ("Where is the cat?", "cat"),
    ("Do you see a bicycle?", "bicycle"),
    ("Can you see my keys anywhere?", "keys"),
    ("tell me when you see my keys", "keys"),
    ("How many people are there?", "people"),
    ("is my red mug in view", "red mug"),
    ("Where are my glasses?", "glasses"),
])
def test_find_questions_name_their_object(question, thing):
    assert target(question) == thing


@pytest.mark.parametrize("question", ["Describe the scene", "What colour is this?",
                                      "Read the text", "What changed?", "Is the light on?",
                                      "What is this?", ""])
def test_other_questions_are_not_find_questions(question):
    assert target(question) is None


def test_watch_and_count_forms():
    assert wants_watch("Tell me when you see my keys")
    assert wants_watch("watch for the bus")
    assert not wants_watch("where are my keys")
    assert wants_count("how many cars are there?")
    assert not wants_count("is there a car")


def test_synonyms_and_hypernyms_reach_imagenet_classes():
    vocab = Vocabulary.default()
    names = lambda q: {vocab.classes[i] for i in vocab.expand(q).classes}  # noqa: E731
    assert names("burger") == {"cheeseburger"}
    assert {"pier", "dock", "boathouse"} <= names("pier")
    assert {"tabby cat", "Egyptian Mau"} <= names("cat")
    assert "taxicab" in names("vehicle") and "mountain bike" in names("vehicle")
    assert {"wine bottle", "beer bottle"} <= names("bottle")  # by the word the name ends in
    assert "coffee mug" in names("my red mug")  # the head noun when the phrase is unknown
    assert len(names("dog")) == 119 and "hot dog" not in names("dog")  # breeds + wild dog
    assert vocab.expand("people").person and vocab.expand("face").face
    assert vocab.expand("exit sign").text == ("exit",)
    assert vocab.expand("zxqv").empty or not vocab.expand("zxqv").classes


def test_a_typo_in_the_vocabulary_is_an_error_naming_it():
    with pytest.raises(ValueError, match="teh cup"):
        Vocabulary(["mug: coffee mug, teh cup"], ["coffee mug", "tea cup"])


def test_tiles_cover_the_picture_with_overlap():
    boxes = tiles(600, 400, 3)
    assert boxes[0] == (0, 0, 600, 400) and len(boxes) == 10
    assert boxes[1] == (0, 0, 300, 200) and boxes[-1] == (300, 200, 600, 400)
    assert boxes[2][0] == 150  # half a tile over
    assert tiles(600, 400, 1) == [(0, 0, 600, 400)]


def test_where_says_clock_height_and_distance():
    assert where((0, 0, 100, 100), 1000, 1000) == "at ten o'clock, at the top, far away"
    assert where((300, 300, 700, 700), 1000, 1000) == "centre"
    assert where((0, 100, 1000, 1000), 1000, 1000) == "centre, close to you"
    assert where((900, 800, 1000, 900), 1000, 1000, distance=False) == \
        "at two o'clock, at the bottom"


def test_wording_of_an_engine_without_measured_claims_yes_maybe_no_and_counts():
    yes = FindResult("mug", (Match("mug", (0, 0, 300, 300), 0.9, "detector"),), 0.9, 600, 600)
    assert yes.text() == ("Yes, I see a mug, at eleven o'clock, at the top. "
                          "Found by the object detector.")
    maybe = FindResult("mug", (Match("mug", (200, 200, 400, 400), 0.3, "detector"),), 0.3,
                       600, 600)
    assert maybe.text().startswith("I think I see a mug, centre.")
    no = FindResult("bicycle", (), 0.001, 600, 600, seen_instead=("I see an espresso.",))
    assert no.text() == "I don't see a bicycle. I see an espresso."
    two = FindResult("taxi", (Match("taxi", (0, 0, 200, 200), 0.8, "detector"),
                              Match("taxi", (400, 0, 600, 200), 0.6, "detector")), 0.8, 600, 600)
    assert two.text().startswith("Yes, I see two taxis: at ten o'clock, at the top; at two")
    assert not FindResult("zxqv", (), 0, 10, 10, understood=False).found
    # A whole-picture score (CLIP) says whether, never where.
    clip = FindResult("mug", (Match("mug", (0, 0, 600, 600), 0.9, "clip"),), 0.9, 600, 600)
    assert clip.text() == "Yes, I see a mug. Found by the image-text model."


def test_options_are_checked_up_front():
    with pytest.raises(ValueError, match="size"):
        FinderOptions(size=32)
    with pytest.raises(ValueError, match="grid"):
        FinderOptions(grid=0)
