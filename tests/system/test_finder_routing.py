"""Find, colour and light questions reach the finder in every answer engine: the offline
describer answers them (real models, real photos), a VLM gets the finder's boxes as grounding."""
from __future__ import annotations

import pytest

from assistant.events import Frame, Mode
from assistant.ports import VlmRequest
from assistant.stage import CancelToken
from tests.support.fakes import ScriptedVlm
from tests.support.rig.camera import photo
from vision.answer.describer import Describer
from vision.answer.choice import Grounded
from vision.perception.analyze import Perception

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def describer() -> Describer:
    d = Describer()
    d.load()
    return d


def ask(engine, name: str, question: str, mode: Mode = Mode.ASK) -> str:
    frame = Frame(image=photo(name), captured_at=hash((name, question)) % 1000, source=name)
    return "".join(engine.stream(VlmRequest(question=question, frame=frame, mode=mode),
                                 CancelToken.never()))


def test_the_describer_answers_where_is_instead_of_describing(describer):
    said = ask(describer, "coffee", "Is my mug in view, where?")
    # The classifier says whether, not where.
    assert said == "Yes, I see a mug. Found by the image classifier."
    assert "espresso" not in said  # not the usual description


def test_the_describer_says_no_and_what_it_sees(describer):
    said = ask(describer, "coffee", "Do you see a bicycle?")
    assert said.startswith("No, I don't see a bicycle. It looks like an espresso."), said
    assert "Text:" not in said  # a stray mark read off the cup is no text


def test_colour_of_this_and_of_a_found_thing(describer):
    said = ask(describer, "coffee", "What colour is this?")
    assert "brown" in said or "rust" in said
    assert "espresso" not in said
    # The cat is found by the classifier, which has no place for it: its colour is not told,
    # only what was measured, and where.
    cat = ask(describer, "chelsea", "What colour is the cat?")
    assert cat.startswith("I see the cat, but I can't tell where it is; the middle of the "
                          "picture is ") and "brown" in cat
    # A face has a place: its colour is its own.
    face = ask(describer, "astronaut", "What colour is the face?")
    assert face.startswith("The face is "), face


def test_light_question(describer):
    assert ask(describer, "coffee", "Is the light on?").startswith("Yes, it's bright")


def test_describe_mode_with_a_find_question_still_finds(describer):
    said = ask(describer, "chelsea", "where is the cat?", Mode.DESCRIBE)
    assert said == "Yes, I see a cat. Found by the image classifier."
    assert "It looks like a cat." in ask(describer, "chelsea", "")  # no question: describes


def test_a_vlm_gets_the_finders_boxes_as_grounding():
    vlm = ScriptedVlm(tokens=("ok",))
    engine = Grounded(vlm, Perception(labels=False))
    engine.load()
    assert ask(engine, "coffee", "Is my mug in view?") == "ok"
    grounding = vlm.requests[-1].grounding
    assert 'Object finder (offline) looked for "mug": Yes, I see a mug' in grounding
    assert "- mug: box [" in grounding and "score 0." in grounding
    ask(engine, "coffee", "Describe the scene")
    assert "Object finder" not in vlm.requests[-1].grounding
