"""Claims with a measured precision: when the offline path may say "yes", "no", or must say
"I can't tell".

Every statement the offline path makes about what is (or is not) in the picture comes from one
of four detectors, each with a score:

| detector     | score                                                              | may say no? |
|--------------|--------------------------------------------------------------------|-------------|
| `face`       | the frontal-face cascade's weight (OpenCV `haarcascade_frontalface_alt`) | yes   |
| `person`     | the HOG people detector's SVM score (a face found also means a person)   | yes   |
| `text`       | the reader's mean confidence over lines with three or more letters or digits | yes |
| `classifier` | the ImageNet classifier's summed probability of the classes a word means, best tile | only for words the synonym table marks `@deny` |

A score at or above the detector's `yes_at` is a yes; under its `no_below` (where it has one)
a no; in between, "I can't tell". The thresholds live in `resources/claims.json`. They are
not chosen by hand: `glimpse bench claims --calibrate` sets them on half A of the labelled
photo set (`tests/data/claims/`, photos from packages nobody here chose, questions labelled by
looking) as the lowest `yes_at` (the highest `no_below`) whose answers on half A are right at
least `TARGET` of the time, and the benchmark reports half B, which calibration never saw.

A `no` is said only for what a detector reliably finds at the size it looks for, and only in a
picture clear enough to look at (not too dark, not one flat colour: `clear_enough`):

- "no one close by" (to "is there a person?" and "is there a face?"): neither the frontal-face
  cascade nor the people detector sees anything, and a look for faces turned to the side
  (`Perception.side_faces`, made only then) finds none either. "Close by" is what these
  detectors can see: a face at least a twelfth of the picture's short side, or a whole body
  at least 128 of 640 pixels tall. Half A holds a cameraman whom both detectors miss (his face
  is turned to the viewfinder); without the side look no "no" would reach the target there.
- "no text": no reading of the picture (the reader's, perception's OCR) found anything, not
  even a mark too short to count (here a flat picture, a blank page, may be denied; only a
  dark one may not);
- "no dog": only for the few kinds of thing whose every sort has an ImageNet class (dogs,
  cats, cups, cars, buses, bicycles: `@deny` in `resources/finder_vocabulary.txt`).

A thing with no class ("tree") or only some of its sorts ("horse": one brown horse; "boat")
gets "I can't tell whether there is ... without the vision model", with what the offline path
can tell instead (`CAN_TELL`); in the dark, "the picture is too dark".

Pure functions and a frozen table: any thread.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from resources import ROOT as RESOURCES

THRESHOLDS_FILE = RESOURCES / "claims.json"
#: The precision each claim must reach on the calibration half.
TARGET = 0.95
DETECTORS = ("face", "person", "text", "classifier")
YES, NO, UNSURE = "yes", "no", "unsure"
#: What the offline path can tell, said after "I can't tell ...".
CAN_TELL = ("I can read text, find faces and people close by, and tell colours and light.")
#: Text lines shorter than this (letters and digits) do not count as text: a stray "O" or "81"
#: read off a pattern is no writing.
MIN_TEXT_CHARS = 3


@dataclass(frozen=True)
class Thresholds:
    """One detector's thresholds. `yes_at`: a score at or above it is a yes (None: never yes);
    `no_below`: a score under it is a no (None: this detector never says no)."""

    yes_at: float | None
    no_below: float | None = None

    def verdict(self, score: float, may_deny: bool = True) -> str:
        if self.yes_at is not None and score >= self.yes_at:
            return YES
        if may_deny and self.no_below is not None and score < self.no_below:
            return NO
        return UNSURE


@dataclass(frozen=True)
class Policy:
    """The thresholds of every detector (`DETECTORS`)."""

    face: Thresholds
    person: Thresholds
    text: Thresholds
    classifier: Thresholds
    #: The describer's scene sentence ("It looks like a cat."): the classifier's whole-picture
    #: guess, said at or above `yes_at` (it never says no).
    scene: Thresholds = Thresholds(None)

    def of(self, detector: str) -> Thresholds:
        if detector not in (*DETECTORS, "scene"):
            raise ValueError(f"unknown detector {detector!r}; one of {DETECTORS} or scene")
        return getattr(self, detector)

    @classmethod
    def from_dict(cls, data: dict) -> "Policy":
        try:
            found = data["detectors"]
            return cls(**{name: Thresholds(found[name].get("yes_at"), found[name].get("no_below"))
                          for name in (*DETECTORS, "scene")})
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"claim thresholds: no valid entry for every detector {DETECTORS} "
                             f"and scene ({type(exc).__name__}: {exc})") from exc

    def as_dict(self) -> dict:
        return {name: {"yes_at": self.of(name).yes_at, "no_below": self.of(name).no_below}
                for name in (*DETECTORS, "scene")}


@lru_cache(maxsize=4)
def _load(path: str) -> Policy:
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the claim thresholds {file} ({exc}); reinstall Glimpse "
                         "or run `glimpse bench claims --calibrate`") from exc
    return Policy.from_dict(data)


def policy(path: Path | None = None) -> Policy:
    """The calibrated thresholds (`resources/claims.json`, or `path`)."""
    return _load(str(path or THRESHOLDS_FILE))


# --------------------------------------------------------------------------- scores


def text_score(lines: Iterable) -> float:
    """The text detector's score: mean confidence of the lines (weighted by characters) that
    hold at least `MIN_TEXT_CHARS` letters or digits; 0 with none. `lines` are objects with
    `text` and `confidence` (perception's TextLine, the reader's OcrLine)."""
    total = weight = 0.0
    for line in lines:
        chars = len(re.findall(r"\w", line.text))
        if chars >= MIN_TEXT_CHARS:
            total += line.confidence * chars
            weight += chars
    return total / weight if weight else 0.0


def face_score(result) -> float:
    """The best face's cascade weight in a PerceptionResult; 0 with no face."""
    return max((d.confidence for d in result.faces), default=0.0)


def person_score(result) -> float:
    """The best HOG person score in a PerceptionResult; 0 with none."""
    return max((d.confidence for d in result.persons), default=0.0)


def clear_enough(result) -> bool:
    """Whether a picture is clear enough for a "no": neither too dark nor one flat colour
    (`PerceptionResult.dark`, `.flat`). In the dark, or with the lens covered, every detector
    misses what is there, so nothing may be denied."""
    return not (result.dark or result.flat)


def _nobody(result, rules: Policy) -> bool:
    """Both the frontal-face cascade and the people detector looked (`timings_ms` says they
    ran: a picture too small for them is no evidence) and neither sees anything: the ground
    for "no one close by", before the side look and the picture's quality are asked."""
    looked = "faces" in result.timings_ms and "persons" in result.timings_ms
    return looked and rules.face.verdict(face_score(result)) == NO and \
        rules.person.verdict(person_score(result)) == NO


def needs_side_look(result, rules: Policy | None = None) -> bool:
    """Whether a "no" to a face or a person now hangs on the side look
    (`Perception.side_faces`), which `result` has not had: the caller looks and puts the
    faces in `result.side_faces` (`dataclasses.replace`) before asking the verdict."""
    rules = rules or policy()
    return result.side_faces is None and _nobody(result, rules) and clear_enough(result)


def _no_one(result, rules: Policy) -> bool:
    """"No one close by": nothing from either detector, no face turned to the side either
    (looked for, not just not asked), and a picture clear enough to say so."""
    return _nobody(result, rules) and result.side_faces == () and clear_enough(result)


def face_verdict(result, rules: Policy | None = None) -> str:
    """Is there a face? Yes from the frontal-face cascade; no only when no one is seen at all
    (`_no_one`: a person with the face turned away, or a face from the side, is no evidence
    of "no face")."""
    rules = rules or policy()
    said = rules.face.verdict(face_score(result))
    if said == NO and not _no_one(result, rules):
        return UNSURE
    return said


def person_verdict(result, rules: Policy | None = None) -> str:
    """Is there a person? Yes from either detector; no only when no one is seen at all
    (`_no_one`)."""
    rules = rules or policy()
    body = rules.person.verdict(person_score(result))
    face = rules.face.verdict(face_score(result))
    if YES in (body, face):
        return YES
    return NO if _no_one(result, rules) else UNSURE


def people_seen(result, rules: Policy | None = None) -> tuple:
    """The people of a PerceptionResult that the detectors' yes thresholds allow saying: HOG
    bodies at or above `person.yes_at`, faces at or above `face.yes_at` (not inside a body)."""
    rules = rules or policy()
    out = []
    for det in result.people:
        kind = "face" if any(det.box == f.box for f in result.faces) else "person"
        if rules.of(kind).verdict(det.confidence, may_deny=False) == YES:
            out.append(det)
    return tuple(out)


def text_verdict(lines, rules: Policy | None = None, marks: Iterable = (),
                 clear: bool = True) -> str:
    """Is there any text? `lines`: the reader's; `marks`: any other reading of the same
    picture (perception's OCR lines). Yes at the text score's `yes_at`; no only when no pass
    read anything at all, not even a mark too short to count, and `clear`: the picture is not
    too dark (a flat one, a blank page, may be said to hold no text)."""
    rules = rules or policy()
    lines = list(lines)
    deny = not lines and not list(marks) and clear
    return rules.text.verdict(text_score(lines), may_deny=deny)


def cannot_tell(noun: str, dark: bool = False) -> str:
    """"I can't tell whether there is a horse without the vision model; I can read text, ...";
    with `dark`: the picture is too dark (or one flat colour) to say."""
    if dark:
        return (f"I can't tell whether there is {noun}: the picture is too dark or too plain "
                "to see. Turn on a light, or point the camera at the room.")
    return f"I can't tell whether there is {noun} without the vision model; {CAN_TELL}"
