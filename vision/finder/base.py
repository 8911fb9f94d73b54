"""What every finder shares: its options, what it found (`Match`, `FindResult`, whose
`sentences()` is the spoken answer), the `FinderEngine` port, and how a place in the picture is
said ("at two o'clock, at the bottom, close to you").

A `FinderEngine` is any object with `name`, `load()` and
`find(image_bgr, query, perception=None) -> FindResult`. Two engines implement it:
`vision.finder.offline.OfflineFinder` (the offline pack's weights) and
`vision.finder.open_vocab.OpenVocabularyFinder` (OWLv2 / OWL-ViT boxes and CLIP / SigLIP).

`FindResult.sentences()` is the spoken answer. The offline finder sets `verdict` (yes, no or
unsure, from `vision.perception.claims`): "Yes, I see a person, at two o'clock." (a detector that
localises says where) / "Yes, I see a cup." (the classifier says whether, not where) / "No, I
don't see a dog." with what it sees instead / "I can't tell whether there is a horse without the
vision model; ...". An engine without measured thresholds (the open-vocabulary finder) leaves
`verdict` empty and answers from its scores: "Yes, I see ..." at `found_at`, "I think I see ..."
under it, "I don't see ..." with nothing found.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from vision.finder.words import with_article
from vision.perception.analyze import PerceptionResult, clock_position

Box = tuple[int, int, int, int]

_NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


@dataclass(frozen=True)
class FinderOptions:
    """`grid`: tiles per side (3: nine half-size tiles plus the whole picture); `size`: the side
    of the classifier's input in pixels (224, as trained; watch mode uses 160, half the work);
    `threads`: torch threads for the classifier's batch (0: torch's default). Watch mode uses 1:
    it runs beside speech recognition and synthesis, and two threads fighting over busy cores
    were 5-8x slower than one on the two-core development machine. `deny`: make the extra
    look a "no one close by" needs (faces turned to the side, 0.2-0.4 s a frame); watch mode
    waits only for a yes, so it skips it, and a frame with nobody is "I can't tell" there."""

    grid: int = 3
    size: int = 224
    threads: int = 0
    deny: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.grid <= 6:
            raise ValueError(f"grid must be 1..6 tiles per side, not {self.grid}")
        if not 96 <= self.size <= 448:
            raise ValueError(f"size must be 96..448 pixels, not {self.size}")


#: Watch mode's options: five crops at 160 px (several frames a second), no side look.
WATCH = FinderOptions(grid=2, size=160, threads=1, deny=False)


@dataclass(frozen=True)
class Match:
    """One place the thing was found. `box` in pixels of the analysed picture (for the
    classifier: the whole picture, it cannot localise); `score` the detector's own; `source`
    the part that found it: classifier | text | person | face | detector | clip."""

    label: str
    box: Box
    score: float
    source: str


#: Parts that cannot say where a thing is: their box is the whole picture.
UNLOCATED = frozenset({"classifier", "clip"})

METHODS = {"classifier": "the image classifier", "text": "the text reader",
           "person": "the people detector", "face": "the face detector",
           "detector": "the object detector", "clip": "the image-text model"}


@dataclass(frozen=True)
class FindResult:
    """What the finder found for one query in one picture.

    `matches` best first (one per separate place); `score` the best score; `seen_instead` what
    the picture shows instead, for a no; `width`/`height` of the analysed picture. `verdict`
    (yes | no | unsure) and `detector` (face | person | text | classifier) when the engine's
    claims have measured thresholds (`vision.perception.claims`); empty otherwise.
    """

    query: str
    matches: tuple[Match, ...]
    score: float
    width: int
    height: int
    found_at: float = 0.45
    engine: str = "offline"
    seen_instead: tuple[str, ...] = ()
    understood: bool = True
    verdict: str = ""
    detector: str = ""
    too_plain: bool = False  # "I can't tell": the picture is too dark or plain for a no
    timings_ms: dict[str, float] = field(default_factory=dict, compare=False)

    @property
    def found(self) -> bool:
        if self.verdict:
            return self.verdict == "yes"
        return bool(self.matches)

    @property
    def sure(self) -> bool:
        if self.verdict:
            return self.verdict == "yes"
        return self.found and self.score >= self.found_at

    @property
    def located(self) -> bool:
        """Whether the best match has a place (a detector's box, not the classifier's)."""
        return self.best is not None and self.best.source not in UNLOCATED

    @property
    def best(self) -> Match | None:
        return self.matches[0] if self.matches else None

    def where(self, match: Match | None = None, distance: bool = True) -> str:
        """"centre, at the bottom, close to you": clock direction, height, distance (not for a
        word read on a sign: the word is smaller than the sign)."""
        match = match or self.best
        if match is None or match.source in UNLOCATED:
            return ""
        return where(match.box, self.width, self.height, distance)

    @property
    def methods(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.source for m in self.matches))

    def sentences(self) -> list[str]:
        """The spoken answer, first clause first."""
        noun = with_article(self.query)
        if self.verdict:
            return self._claimed(noun)
        if not self.understood:
            return [f"I don't know what {noun} looks like without the image model."]
        if not self.found:
            return [f"I don't see {noun}.", *self.seen_instead]
        best = self.best
        assert best is not None
        lead = "Yes, I see" if self.sure else "I think I see"
        if not self.located:  # a whole-picture score (CLIP, the classifier): whether, not where
            out = [f"{lead} {noun}."]
        elif len(self.matches) > 1:
            places = "; ".join(self.where(m) for m in self.matches[:4])
            count = _NUMBERS[len(self.matches)] if len(self.matches) < len(_NUMBERS) \
                else str(len(self.matches))
            plural = _plural(self.query)
            out = [f"{lead} {count} {plural}: {places}."]
        elif best.source == "text":
            out = [f"{lead} {noun}: I read {best.label[len('the word '):]}, "
                   f"{self.where(best, distance=False)}."]
        else:
            out = [f"{lead} {noun}, {self.where(best)}."]
        out.append(f"Found by {_join([METHODS.get(m, m) for m in self.methods])}.")
        return out

    def _claimed(self, noun: str) -> list[str]:
        """The answer of an engine with measured claims: yes, no, or "I can't tell"."""
        from vision.perception.claims import cannot_tell

        if self.verdict == "no":
            lead = "No, I don't see anyone" if self.detector == "person" else \
                f"No, I don't see {noun}"
            close = " close by" if self.detector in ("person", "face") else ""
            return [f"{lead}{close}.", *self.seen_instead]
        if self.verdict != "yes" or self.best is None:
            return [cannot_tell(noun, dark=self.too_plain), *self.seen_instead]
        best = self.best
        if best.source == "text":
            out = [f"Yes, I see {noun}: I read {best.label[len('the word '):]}, "
                   f"{self.where(best, distance=False)}."]
        elif not self.located:
            out = [f"Yes, I see {noun}."]
        elif len(self.matches) > 1:
            places = "; ".join(self.where(m) for m in self.matches[:4])
            count = _NUMBERS[len(self.matches)] if len(self.matches) < len(_NUMBERS) \
                else str(len(self.matches))
            out = [f"Yes, I see {count} {_plural(self.query)}: {places}."]
        else:
            out = [f"Yes, I see {noun}, {self.where(best)}."]
        out.append(f"Found by {_join([METHODS.get(m, m) for m in self.methods])}.")
        return out

    def text(self) -> str:
        return " ".join(self.sentences())

    def as_dict(self) -> dict[str, Any]:
        return {
            "query": self.query, "found": self.found, "sure": self.sure,
            "verdict": self.verdict, "detector": self.detector,
            "score": round(self.score, 3), "engine": self.engine, "answer": self.text(),
            "matches": [{"label": m.label, "box": list(m.box), "score": round(m.score, 3),
                         "source": m.source, "where": self.where(m)} for m in self.matches],
            "seen_instead": list(self.seen_instead), "size": [self.width, self.height],
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
        }


@runtime_checkable
class FinderEngine(Protocol):
    """Finds one described thing in a picture. Threads: one caller at a time."""

    name: str

    def load(self) -> None: ...

    def find(self, image_bgr: np.ndarray, query: str,
             perception: PerceptionResult | None = None) -> FindResult:
        """`query` is the object phrase ("red mug"); `perception`, when the caller already has
        it for this picture, saves running OCR and the detectors again."""


# --------------------------------------------------------------------------- wording


def where(box: Box, width: int, height: int, distance: bool = True) -> str:
    """Clock direction, then "at the top/bottom" (outer thirds), then distance from the box's
    share of the picture: over 40% "close to you", under 2% "far away"."""
    x0, y0, x1, y1 = box
    parts = [clock_position((x0 + x1) / 2, width)]
    cy = (y0 + y1) / 2 / max(height, 1)
    if cy < 1 / 3:
        parts.append("at the top")
    elif cy > 2 / 3:
        parts.append("at the bottom")
    share = (x1 - x0) * (y1 - y0) / max(width * height, 1)
    if not distance:
        pass
    elif share >= 0.4:
        parts.append("close to you")
    elif share <= 0.02:
        parts.append("far away")
    return ", ".join(parts)


def _plural(noun: str) -> str:
    if noun in ("person", "people", "someone", "anyone", "somebody", "anybody"):
        return "people"
    if noun.endswith("s"):
        return noun
    return noun + ("es" if noun.endswith(("ch", "sh", "x")) else "s")


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
