"""Which questions have a direct answer (find, colour, light), and where they go."""
from __future__ import annotations

import pytest

from vision.answer.intents import Intent, intent


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
                                      "Who is that?", "Is there any text in this picture?",
                                      "Is there writing on it?", "Are there any words here?",
                                      "Is there printed text on the box?"])
def test_other_questions_keep_their_path(question):
    assert intent(question) is None


@pytest.mark.parametrize("question", ["Is there a sign?", "Where is the label?"])
def test_signs_and_labels_are_still_found(question):
    """A sign or a label is a thing with a place; the finder reads it and says where."""
    assert intent(question).kind == "find"


def test_is_there_any_text_is_read_not_looked_for():
    """The offline describer answered "Is there any text in this picture?" with "I don't know
    what a text looks like without the image model."; now the reader answers, as a text claim
    (yes with what it says, or no)."""
    import numpy as np

    from assistant.events import Frame, Mode
    from assistant.ports import VlmRequest
    from vision.answer.describer import Describer
    from vision.perception.analyze import Perception

    from ui.bench.kit.read_pages import CASES, make_page
    from vision.reading.reader import Reader

    describer = Describer(Perception(faces=False, persons=False, labels=False),
                          reader=Reader("rapidocr"))
    question = "Is there any text in this picture?"
    blank = Frame(image=np.full((240, 320, 3), 200, np.uint8), captured_at=1.0, source="test")
    assert describer.answer(VlmRequest(question, blank, Mode.ASK)) == [
        "No, I can't find any text."]
    # In the dark a page may be there unread: no "no".
    dark = Frame(image=np.full((240, 320, 3), 20, np.uint8), captured_at=1.5, source="test")
    said = describer.answer(VlmRequest(question, dark, Mode.ASK))
    assert said[0].startswith("I can't tell whether there is any text: the picture is too dark")
    spec = CASES[0]
    page = Frame(image=make_page(spec), captured_at=2.0, source="test")
    said = " ".join(describer.answer(VlmRequest(question, page, Mode.ASK)))
    assert said.startswith("Yes, there is text. " + spec.reference.split()[0]), said
