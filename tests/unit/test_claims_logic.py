"""Claims with measured precision, without models: the verdict rules, the wording of yes, no and
"I can't tell", the labelled set's format and the benchmark's calibration and tallies."""
from __future__ import annotations

from dataclasses import replace

import pytest

from vision.finder.base import FindResult, Match
from vision.finder.words import Vocabulary
from vision.perception import claims
from vision.perception.analyze import Detection, PerceptionResult, TextLine

RULES = claims.Policy(face=claims.Thresholds(50.0, 1.0), person=claims.Thresholds(0.5, 0.1),
                      text=claims.Thresholds(0.6, 0.05), classifier=claims.Thresholds(0.4, 0.1),
                      scene=claims.Thresholds(0.7))


LOOKED = {"faces": 1.0, "persons": 1.0}  # both detectors ran


def _seen(faces=(), persons=(), side=(), timings=LOOKED, brightness=0.5) -> PerceptionResult:
    return PerceptionResult(
        width=600, height=400,
        faces=tuple(Detection("face", (400 + 60 * i, 10, 450 + 60 * i, 60), w, "centre")
                    for i, w in enumerate(faces)),
        persons=tuple(Detection("person", (0, 0, 100, 300), w, "centre") for w in persons),
        side_faces=None if side is None else tuple(
            Detection("side face", (300, 10, 360, 70), w, "centre") for w in side),
        timings_ms=dict(timings), brightness=brightness)


def test_a_score_is_yes_no_or_unsure_and_only_a_deniable_thing_gets_a_no():
    t = claims.Thresholds(0.4, 0.1)
    assert t.verdict(0.4) == "yes" and t.verdict(0.2) == "unsure" and t.verdict(0.05) == "no"
    assert t.verdict(0.05, may_deny=False) == "unsure"
    assert claims.Thresholds(None, None).verdict(1.0) == "unsure"


def test_no_face_is_said_only_while_no_one_is_seen_at_all():
    assert claims.face_verdict(_seen(faces=[108.0]), RULES) == "yes"
    assert claims.face_verdict(_seen(), RULES) == "no"
    # A person whose face the cascade cannot see (turned away, too small) is no evidence.
    assert claims.face_verdict(_seen(persons=[1.0]), RULES) == "unsure"
    assert claims.face_verdict(_seen(faces=[20.0]), RULES) == "unsure"
    # A face turned to the side (the cameraman at his viewfinder) is no evidence either.
    assert claims.face_verdict(_seen(side=[2.0]), RULES) == "unsure"


def test_a_person_is_seen_by_either_detector_and_denied_only_after_every_look():
    assert claims.person_verdict(_seen(faces=[108.0]), RULES) == "yes"
    assert claims.person_verdict(_seen(persons=[0.9]), RULES) == "yes"
    assert claims.person_verdict(_seen(), RULES) == "no"
    assert claims.person_verdict(_seen(persons=[0.3]), RULES) == "unsure"
    assert claims.person_verdict(_seen(side=[2.0]), RULES) == "unsure"
    # The side look not made yet: no "no" until it is, and the caller is told to make it.
    assert claims.person_verdict(_seen(side=None), RULES) == "unsure"
    assert claims.needs_side_look(_seen(side=None), RULES)
    assert not claims.needs_side_look(_seen(side=None, persons=[0.9]), RULES)
    assert not claims.needs_side_look(_seen(), RULES)
    # Detectors that did not run (a picture too small for them) are no evidence.
    assert claims.person_verdict(_seen(timings={}), RULES) == "unsure"


def test_nothing_is_denied_in_a_dark_picture_and_no_one_in_a_flat_one():
    dark = _seen(brightness=0.1)
    assert claims.person_verdict(dark, RULES) == "unsure"
    assert claims.face_verdict(dark, RULES) == "unsure"
    flat = replace(_seen(), contrast=0.01)  # a covered lens, a wall too close
    assert claims.person_verdict(flat, RULES) == "unsure"
    assert not claims.needs_side_look(_seen(side=None, brightness=0.1), RULES)
    assert claims.text_verdict([], RULES, clear=False) == "unsure"
    assert claims.text_verdict([], RULES) == "no"
    said = claims.cannot_tell("a dog", dark=True)
    assert said.startswith("I can't tell whether there is a dog: the picture is too dark")


def test_text_is_denied_only_when_no_reading_found_anything():
    stray = [TextLine("S=", 0.56, (0, 0, 9, 9))]  # handwriting the reader could not read
    assert claims.text_verdict([], RULES, marks=stray) == "unsure"
    assert claims.text_verdict(stray, RULES) == "unsure"
    assert claims.text_verdict([TextLine("EXIT", 0.9, (0, 0, 9, 9))], RULES) == "yes"


def test_only_people_at_the_calibrated_yes_are_said():
    seen = _seen(faces=[108.0, 20.0], persons=[0.9, 0.3])
    assert sorted(d.confidence for d in claims.people_seen(seen, RULES)) == [0.9, 108.0]


def test_text_score_ignores_stray_marks():
    lines = [TextLine("O", 0.9, (0, 0, 5, 5)), TextLine("81", 0.9, (0, 0, 5, 5))]
    assert claims.text_score(lines) == 0.0
    assert claims.text_score([TextLine("EXIT", 0.8, (0, 0, 9, 9)),
                              TextLine("cero emisiones", 0.6, (0, 0, 9, 9))]) == \
        pytest.approx((0.8 * 4 + 0.6 * 13) / 17)


def test_the_shipped_thresholds_load_and_a_broken_file_says_what_to_do(tmp_path):
    rules = claims.policy()
    assert rules.classifier.yes_at is not None and rules.face.yes_at is not None
    bad = tmp_path / "claims.json"
    bad.write_text('{"detectors": {"face": {}}}')
    with pytest.raises(ValueError, match="every detector"):
        claims.policy(bad)
    bad.write_text("{")
    with pytest.raises(ValueError, match="calibrate"):
        claims.policy(bad)


def test_the_synonym_table_says_which_things_may_be_denied():
    vocab = Vocabulary.default()
    assert vocab.expand("dog").deniable and vocab.expand("my red car").deniable
    assert not vocab.expand("boat").deniable and not vocab.expand("animal").deniable
    assert not vocab.expand("horse").deniable  # one class, a brown horse: not every horse
    names = {vocab.classes[i] for i in vocab.expand("boat").classes}
    assert "paddle" not in names and "boathouse" not in names  # not boats


def _said(verdict, detector, matches=(), instead=()):
    return FindResult("dog" if detector == "classifier" else detector, tuple(matches), 0.9,
                      600, 400, verdict=verdict, detector=detector, seen_instead=instead).text()


def test_the_classifier_says_whether_but_never_where():
    yes = _said("yes", "classifier", [Match("dog", (0, 0, 600, 400), 0.9, "classifier")])
    assert yes == "Yes, I see a dog. Found by the image classifier."
    assert "o'clock" not in yes and "centre" not in yes


def test_a_detector_that_localises_says_where():
    said = _said("yes", "person", [Match("person", (500, 0, 600, 300), 0.9, "person")])
    assert said == "Yes, I see a person, at two o'clock. Found by the people detector."


def test_no_and_cannot_tell_are_plain():
    assert _said("no", "person") == "No, I don't see anyone close by."
    assert _said("no", "classifier", instead=("It looks like a cat.",)) == \
        "No, I don't see a dog. It looks like a cat."
    unsure = _said("unsure", "classifier")
    assert unsure.startswith("I can't tell whether there is a dog without the vision model; ")
    assert claims.CAN_TELL in unsure
    assert not FindResult("horse", (), 0.0, 10, 10, verdict="unsure").found


def test_the_labelled_set_loads_and_a_bad_line_is_named(tmp_path):
    from ui.bench.claims import load_labels, sample

    questions = load_labels()
    assert len({q.photo for q in questions}) >= 60 and len(questions) >= 300
    assert {q.half for q in questions} == {"A", "B"}
    assert any(q.ask == "Is there a dog?" and q.truth for q in questions)
    bad = tmp_path / "labels.txt"
    bad.write_text("a.jpg | A | maybe | no | no | dog | cat\n")
    with pytest.raises(ValueError, match="line 1: person"):
        load_labels(bad)
    picked = sample(questions, 4)
    assert len({q.photo for q in picked}) == 4 and {q.half for q in picked} == {"B"}


def _asked(detector, truth, score, half="A", deniable=True):
    from ui.bench.claims import Asked, Question

    return Asked(Question("p.jpg", half, "Is there a dog?", truth, "thing"), detector, score,
                 "", "", (deniable, True))


def test_calibration_takes_the_loosest_thresholds_that_stay_precise_on_half_a():
    from ui.bench.claims import calibrate_rules, evaluate

    asked = [_asked("classifier", True, s) for s in (0.9, 0.8, 0.7, 0.6, 0.3)] + \
        [_asked("classifier", False, s) for s in (0.5, 0.05, 0.04, 0.02, 0.01)]
    start = claims.Policy(*(claims.Thresholds(None),) * 4)
    rules = calibrate_rules(asked, start)
    # Every yes at or above 0.55 is right; at 0.5 one of five would be wrong.
    assert 0.5 < rules.classifier.yes_at <= 0.6
    # A no under 0.3 would be right, but a no stays under a quarter of a yes.
    assert rules.classifier.no_below <= rules.classifier.yes_at * 0.25
    result = evaluate(asked, rules, "A")["classifier"]
    assert result["precision_yes"] == 1.0 and result["precision_no"] == 1.0
    assert result["confusion"]["yes_unsure"] == 1  # the 0.3 dog: "I can't tell"
    # A word the table does not let the classifier deny never gets a no.
    boat = _asked("classifier", False, 0.01, deniable=False)
    assert boat.verdict(rules) == "unsure"


def _person(photo, truth, result, half="A"):
    """The person and the face question about one photo."""
    from ui.bench.claims import Asked, Question

    return [Asked(Question(photo, half, ask, truth, kind), kind, 0.0, "", "", result)
            for kind, ask in (("person", "Is there a person?"), ("face", "Is there a face?"))]


def test_calibration_lets_nobody_close_by_be_a_no_only_where_every_look_found_nothing():
    """Half A's cameraman: neither the frontal face nor the body detector sees him. Without
    the side look that found his face, "no one" would be wrong on him, and the calibration
    must then refuse face and person any "no"; with it, it must allow one."""
    from ui.bench.claims import calibrate_rules

    start = claims.Policy(face=claims.Thresholds(54.0), person=claims.Thresholds(0.5),
                          text=claims.Thresholds(None), classifier=claims.Thresholds(None))
    empty = [a for i in range(12) for a in _person(f"p{i}.jpg", False, _seen())]
    seen = _person("face.jpg", True, _seen(faces=[108.0])) + \
        _person("body.jpg", True, _seen(persons=[1.05]))
    side_look = calibrate_rules(empty + seen + _person("cam.jpg", True, _seen(side=[2.0])),
                                start)
    assert side_look.person.no_below is not None and side_look.face.no_below is not None
    no_look = calibrate_rules(empty + seen + _person("cam.jpg", True, _seen()), start)
    assert no_look.person.no_below is None and no_look.face.no_below is None


def test_tally_counts_precision_coverage_and_the_confusion_table():
    from ui.bench.claims import tally

    result = tally([(True, "yes"), (False, "yes"), (False, "no"), (True, "unsure")])
    assert result["precision_yes"] == 0.5 and result["precision_no"] == 1.0
    assert result["coverage"] == 0.75
    assert result["confusion"] == {"yes_yes": 1, "yes_no": 0, "yes_unsure": 1,
                                   "no_yes": 1, "no_no": 1, "no_unsure": 0}
