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

A `no` is said only for what a detector reliably finds at the size it looks for: a face turned
to the camera, a person whose whole body is in view, printed text, and the few kinds of thing
whose every sort has an ImageNet class (dogs, cats, birds, cars, cups...). A thing with no class
at all ("horse", "tree") gets "I can't tell whether there is ... without the vision model",
with what the offline path can tell instead (`CAN_TELL`).

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


def face_verdict(result, rules: Policy | None = None) -> str:
    """Is there a face? A no only while no person is seen either (a person with the face
    turned away, or too small for the cascade, is no evidence of "no face")."""
    rules = rules or policy()
    said = rules.face.verdict(face_score(result))
    if said == NO and rules.person.verdict(person_score(result)) != NO:
        return UNSURE
    return said


def person_verdict(result, rules: Policy | None = None) -> str:
    """Is there a person? Yes from either detector; no only when both say no."""
    rules = rules or policy()
    body = rules.person.verdict(person_score(result))
    face = rules.face.verdict(face_score(result))
    if YES in (body, face):
        return YES
    if body == NO and face == NO:
        return NO
    return UNSURE


def cannot_tell(noun: str) -> str:
    """"I can't tell whether there is a horse without the vision model; I can read text, ..."."""
    return f"I can't tell whether there is {noun} without the vision model; {CAN_TELL}"
