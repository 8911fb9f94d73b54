"""Which questions have a direct answer (find, colour, light), and where they go."""
from __future__ import annotations

import pytest

from vision.intents import Intent, intent


@pytest.mark.parametrize("question, expected", [
    ("Is my mug in view, where?", Intent("find", "mug")),
    ("Is there a burger here?", Intent("find", "burger")),
    ("find the exit sign", Intent("find", "exit sign")),
    ("Do you see a bicycle?", Intent("find", "bicycle")),
    ("What colour is this?", Intent("colour", "")),
    ("What color is it?", Intent("colour", "")),
    ("What colour is the mug?", Intent("colour", "mug")),
    ("Which colour is my shirt", Intent("colour", "shirt")),
])
def test_direct_questions(question, expected):
    assert intent(question) == expected


@pytest.mark.parametrize("question", ["Is the light on?", "is it dark in here",
                                      "Where is the window?", "How bright is it?"])
def test_light_questions(question):
    assert intent(question).kind == "light"


@pytest.mark.parametrize("question", ["", "Describe the scene", "What does the sign say?",
                                      "Read the text", "What changed?", "What is this?",
                                      "Who is that?"])
def test_other_questions_keep_their_path(question):
    assert intent(question) is None
