"""Perception's pure parts, the describer's wording and the prompt loader: no models needed."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from assistant.errors import ConfigError
from assistant.events import Frame, Mode
from assistant.ports import VlmRequest
from assistant.stage import CancelToken
from tests.support.rig.camera import photo
from vision.answer.vlm import prompts
from vision.answer.describer import Describer, describe_sentences, read_sentences, what_changed
from vision.perception.analyze import (
    Detection,
    PerceptionResult,
    TextLine,
    blur_score,
    brightness,
    clock_position,
    cut_edges,
    fit,
    reading_order,
)


def line(text, x0, y0, x1, y1, conf=0.9):
    return TextLine(text=text, confidence=conf, box=(x0, y0, x1, y1))


def test_reading_order_rows_then_left_to_right():
    # Two words of one row (slightly different heights), then a line below, given shuffled.
    lines = [line("world", 210, 12, 300, 40), line("second row", 10, 60, 200, 90),
             line("hello", 10, 10, 200, 42)]
    assert [ln.text for ln in reading_order(lines)] == ["hello", "world", "second row"]


def test_reading_order_two_columns_keeps_rows():
    lines = [line("B1", 300, 10, 400, 30), line("A2", 10, 50, 100, 70), line("A1", 10, 11, 100, 31),
             line("B2", 300, 51, 400, 71)]
    assert [ln.text for ln in reading_order(lines)] == ["A1", "B1", "A2", "B2"]


def test_cut_edges_only_where_text_touches():
    assert cut_edges([line("x", 0, 50, 100, 80)], 640, 480) == ("left",)
    assert cut_edges([line("x", 300, 50, 639, 80)], 640, 480) == ("right",)
    assert cut_edges([line("x", 300, 0, 400, 479)], 640, 480) == ("top", "bottom")
    assert cut_edges([line("x", 40, 40, 600, 440)], 640, 480) == ()


@pytest.mark.parametrize("x, expected", [(0, "at ten o'clock"), (140, "at eleven o'clock"),
                                         (320, "centre"), (470, "at one o'clock"),
                                         (639, "at two o'clock")])
def test_clock_positions(x, expected):
    assert clock_position(x, 640) == expected


def test_quality_measures_on_a_real_photo():
    sharp = photo("astronaut")
    blurred = cv2.GaussianBlur(sharp, (0, 0), 3)
    dark = (sharp * 0.12).astype(np.uint8)
    assert blur_score(sharp) > 100
    assert blur_score(blurred) < 60
    # A dark picture is dark, but not called blurred: the blur score ignores exposure.
    assert brightness(dark) < 0.1
    assert brightness(sharp) > 0.3
    assert blur_score(dark) > 60


def test_fit_downscales_big_and_keeps_tiny():
    assert fit(np.zeros((4320, 7680, 3), np.uint8)).shape == (900, 1600, 3)
    assert fit(np.zeros((1, 1), np.uint8)).shape == (1, 1, 3)


def result(**kw) -> PerceptionResult:
    base = dict(width=640, height=480, brightness=0.5, blur=500.0)
    base.update(kw)
    return PerceptionResult(**base)


def person(x: int) -> Detection:
    return Detection("person", (x - 40, 100, x + 40, 400), 1.2, clock_position(x, 640))


def test_describer_says_what_it_found_and_nothing_more():
    r = result(lines=(line("EMERGENCY", 100, 100, 400, 150), line("EXIT", 200, 160, 300, 200)),
               persons=(person(320),), brightness=0.1)
    said = " ".join(describe_sentences(r, "normal", hints=False))
    assert said == 'Text: "EMERGENCY EXIT". One person, centre. Dark image.'


def test_describer_hazards_first_and_coach_hints():
    r = result(lines=(line("CAUTION WET FLOOR", 100, 100, 639, 150),), blur=10.0,
               cut_edges=("right",))
    said = describe_sentences(r, "normal", hints=True)
    assert said[0].startswith("Careful: I think I see a caution sign")
    assert any("blurred" in s for s in said) and any("cut off at the right" in s for s in said)
    assert said.index(next(s for s in said if s.startswith("Text:"))) > 1


def test_describer_says_its_scene_guess_only_at_the_calibrated_precision():
    from vision.perception.claims import policy

    yes_at = policy().scene.yes_at
    sure = result(labels=(("espresso", min(1.0, yes_at + 0.05)),))
    unsure = result(labels=(("espresso", yes_at - 0.1),))
    nothing = result(labels=(("lens cap", 0.06),))
    assert describe_sentences(sure, hints=False) == ["It looks like an espresso."]
    # Under the threshold the guess is wrong too often to say: left out, not hedged.
    assert describe_sentences(unsure, hints=False) == [
        "I can't make out any text, people or objects I know."]
    assert describe_sentences(nothing, hints=False) == [
        "I can't make out any text, people or objects I know."]


def test_read_mode_is_verbatim_in_reading_order():
    r = result(lines=(line("Line one", 10, 10, 200, 30),
                      line("line two, exactly.", 10, 40, 200, 60)))
    assert read_sentences(r) == ["Line one", "line two, exactly."]
    assert read_sentences(result()) == ["I can't find any text."]


def test_what_changed_compares_text_people_and_objects():
    from vision.perception.claims import policy

    yes_at = policy().scene.yes_at
    before = result(lines=(line("OPEN", 10, 10, 100, 40),), persons=(person(100),))
    after = result(lines=(line("CLOSED", 10, 10, 100, 40),), persons=(person(100), person(600)),
                   labels=(("tabby cat", min(1.0, yes_at + 0.05)),))
    said = " ".join(what_changed(before, after))
    assert 'New text: "CLOSED"' in said and 'Text gone: "OPEN"' in said
    assert "One more person" in said and "Now it looks like a tabby cat." in said
    # A guess under the scene sentence's calibrated precision is not said as a change either.
    unsure = result(labels=(("tabby cat", yes_at - 0.1),))
    assert "tabby" not in " ".join(what_changed(result(), unsure))
    assert what_changed(after, after) == ["Nothing important has changed."]
    assert what_changed(None, after) == ["I have no earlier picture to compare with."]


class _Perceives:
    """Stands in for the models: returns a fixed result per image brightness."""

    def __init__(self, results):
        self.results = results

    def load(self):
        pass

    def analyze(self, image):
        return self.results[int(image.mean())]


def test_describer_engine_streams_modes_and_what_changed():
    a = result(lines=(line("OPEN", 10, 10, 100, 40),))
    b = result(lines=(line("CLOSED", 10, 10, 100, 40),))
    engine = Describer(_Perceives({10: a, 20: b}), hints=False)
    assert engine.name == "describer"
    fa = Frame(image=np.full((8, 8, 3), 10, np.uint8), captured_at=1.0)
    fb = Frame(image=np.full((8, 8, 3), 20, np.uint8), captured_at=2.0)
    never = CancelToken.never()
    assert "".join(engine.stream(VlmRequest("", fa, Mode.DESCRIBE), never)) == 'Text: "OPEN".'
    assert "".join(engine.stream(VlmRequest("", fb, Mode.READ), never)) == "CLOSED"
    assert "".join(engine.stream(VlmRequest("what changed?", fb, Mode.ASK), never)) == \
        'New text: "CLOSED". Text gone: "OPEN".'
    # Scene mode's voice commands work in DESCRIBE mode too.
    assert "".join(engine.stream(VlmRequest("read the text", fb, Mode.DESCRIBE), never)) == \
        "CLOSED"
    free = "".join(engine.stream(VlmRequest("is it raining?", fb, Mode.ASK), never))
    assert free.startswith("Without the image model, I can only tell you what I see.")
    # Questions that ask for a description get one, with no disclaimer.
    assert "".join(engine.stream(VlmRequest("describe the scene, please", fb, Mode.ASK),
                                 never)) == "".join(engine.stream(VlmRequest("", fb, Mode.DESCRIBE),
                                                                  never))
    assert "no picture" in "".join(engine.stream(VlmRequest("", None, Mode.DESCRIBE), never))


def test_prompts_load_shipped_and_user_override(tmp_path, monkeypatch):
    for name in prompts.NAMES:
        assert len(prompts.load(name)) > 40
    assert "verbatim" in prompts.for_mode("read").lower() or "exactly" in prompts.load("read")
    assert prompts.for_mode("describe", "brief") == prompts.load("describe_brief")
    monkeypatch.setenv("GLIMPSE_CONFIG_DIR", str(tmp_path))
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "read.txt").write_text("Read it.\n")
    assert prompts.load("read") == "Read it."
    (tmp_path / "prompts" / "ask.txt").write_text("  \n")
    with pytest.raises(ConfigError, match="empty"):
        prompts.load("ask")
    with pytest.raises(ConfigError, match="Unknown prompt"):
        prompts.load("nope")
