"""Colour names and light, on real photos and on pictures with known colours."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.support.rig.camera import photo
from vision.perception.colour import (Colours, colour_sentence, dominant_colours, light, light_sentences,
                           name_of)


@pytest.mark.parametrize("bgr, name", [((0, 0, 230), "red"), ((0, 0, 120), "dark red"),
                                       ((220, 60, 0), "blue"), ((0, 255, 255), "yellow"),
                                       ((255, 255, 255), "white"), ((10, 10, 10), "black"),
                                       ((30, 170, 20), "green"), ((0, 110, 250), "orange")])
def test_plain_names(bgr, name):
    assert name_of(bgr) == name


def test_the_centre_is_named_not_the_border():
    image = np.full((300, 400, 3), (255, 255, 255), np.uint8)
    image[75:225, 100:300] = (0, 0, 120)  # dark red fills the centre half
    colours = dominant_colours(image)
    assert colours.colours[0][0] == "dark red" and colours.colours[0][1] > 0.9
    assert colours.sentence() == "Dark red."


def test_a_box_names_that_object():
    image = np.full((300, 400, 3), (255, 255, 255), np.uint8)
    image[0:100, 0:100] = (220, 60, 0)
    assert dominant_colours(image, (0, 0, 100, 100)).colours[0][0] == "blue"
    assert dominant_colours(image).colours[0][0] == "white"


def test_sentences_say_the_mix():
    assert colour_sentence(Colours((("dark red", 0.7), ("white", 0.25), ("black", 0.05)),
                                   (0, 0, 1, 1))) == "Mostly dark red, with some white."
    assert colour_sentence(Colours((("brown", 0.4), ("cream", 0.35), ("black", 0.25)),
                                   (0, 0, 1, 1)), "mug") == \
        "The mug is brown and cream, with some black."


def test_real_photos_get_their_colours():
    coffee = dominant_colours(photo("coffee")).colours
    assert {n for n, s in coffee if s > 0.12} <= {"rust", "dark brown", "light brown", "brown"}
    cat = dominant_colours(photo("chelsea")).colours
    assert cat[0][0] == "light brown"


def test_light_on_off_and_the_brightest_part():
    lit = light(photo("coffee"))
    assert lit.lit and not lit.dark
    assert light_sentences(lit)[0].startswith("Yes, it's bright")
    dark = light((photo("coffee") * 0.08).astype(np.uint8))
    assert dark.dark and light_sentences(dark)[0].startswith("It's dark: the light seems")
    # A dark room with a bright window at the upper right.
    room = np.full((480, 640, 3), 40, np.uint8)
    cv2.rectangle(room, (480, 20), (620, 140), (250, 250, 250), -1)
    said = light_sentences(light(room), "where is the window?")
    assert said[-1] == "The brightest part is at two o'clock, at the top."
    even = np.full((480, 640, 3), 140, np.uint8)
    assert light_sentences(light(even), "where is the window?")[-1].startswith("No part")


def test_empty_pictures_are_refused():
    with pytest.raises(ValueError, match="empty"):
        dominant_colours(np.zeros((0, 0, 3), np.uint8))
    with pytest.raises(ValueError, match="empty"):
        light(np.zeros((0, 0, 3), np.uint8))
