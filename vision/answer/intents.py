"""Questions that have a direct answer: find ("is my mug in view, where?"), colour ("what colour
is this?") and light ("is the light on?", "where is the window?").

`intent(question)` recognizes them; `IntentAnswerer` answers them with the finder and the colour
and light measures. Every answer engine routes through it:
- the offline describer answers such questions with `answer()` instead of describing the scene;
- a VLM (`vision.answer.choice.Grounded`) gets `grounding()`: the finder's boxes and directions, the
  measured colours or light, so its answer is anchored in what was measured.

Threads: one caller at a time (the answer stage's or the CLI's). The finder is built and loaded
on first use (a second, on that thread), so a session that never asks pays nothing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from vision.perception.colour import centre_box, dominant_colours, light, light_sentences
from vision.finder.words import phrase, target

_COLOUR = re.compile(r"\b(?:what|which) colou?rs?\b|\bcolou?rs? (?:is|are|of)\b", re.I)
_COLOUR_OF = re.compile(r"\bcolou?rs? (?:is|are|of) (?P<what>.+)$", re.I)
_LIGHT = re.compile(r"\b(?:(?:is|are) the (?:lights?|lamps?) (?:on|off)|is it (?:dark|bright|"
                    r"light)|how (?:dark|bright)|(?:where|which way) is the (?:window|light|"
                    r"lamp|sun)|brightest|lights? on)\b", re.I)
_THIS = {"this", "that", "it", "these", "those", "here", "in front of me", "the thing"}
#: "Is there any text?" is not a thing to find but a page to read: the reader answers it (the
#: finder has no picture of "a text" and said it did not know what one looks like).
_TEXT_WORDS = {"text", "texts", "writing", "written", "words", "word", "letters", "lettering",
               "handwriting", "print", "printing"}


@dataclass(frozen=True)
class Intent:
    """`kind`: find | colour | light; `query`: the object ("mug"), "" for "this", or the
    question itself for light (it says whether to point at the brightest part)."""

    kind: str
    query: str = ""


def intent(question: str) -> Intent | None:
    """The direct question in `question`, or None (describe, read, free questions; "is there
    any text?" is a read)."""
    text = (question or "").strip()
    if not text:
        return None
    if _LIGHT.search(text):
        return Intent("light", text)
    if _COLOUR.search(text):
        match = _COLOUR_OF.search(re.sub(r"[?!.]+$", "", text))
        what = match.group("what").strip().lower() if match else ""
        what = "" if what in _THIS else phrase(what)
        return Intent("colour", what)
    what = target(text)
    if what and not _TEXT_WORDS.intersection(what.split()):
        return Intent("find", what)
    return None


class IntentAnswerer:
    """Answers an Intent about a picture. `finder` is a FinderEngine (default: the offline
    finder, built on first use)."""

    def __init__(self, finder: Any = None) -> None:
        self.finder = finder
        self._loaded = False

    def _finder(self) -> Any:
        if self.finder is None:
            from vision.finder.offline import OfflineFinder

            self.finder = OfflineFinder()
        if not self._loaded:
            self.finder.load()
            self._loaded = True
        return self.finder

    def answer(self, what: Intent, image: Any, perception: Any = None) -> list[str]:
        """The spoken answer, as sentences."""
        if what.kind == "light":
            return light_sentences(light(image), what.query)
        if what.kind == "colour":
            if not what.query:
                return [dominant_colours(image).sentence()]
            found = self._finder().find(image, what.query, perception)
            if found.found and found.located:  # its own pixels
                return [dominant_colours(image, found.best.box).sentence(what.query)]
            # Not found, or found without a place (the classifier): say what was measured,
            # and where, never as the thing's colour.
            lead = (f"I see the {what.query}, but I can't tell where it is" if found.found
                    else f"I can't find the {what.query}")
            return [f"{lead}; the middle of the picture is "
                    + _lower_first(dominant_colours(image).sentence())]
        return self._finder().find(image, what.query, perception).sentences()

    def grounding(self, what: Intent, image: Any, perception: Any = None) -> str:
        """Facts for a VLM's prompt: what the finder found and where, the measured colours,
        or the light level."""
        h, w = image.shape[:2]
        if what.kind == "light":
            return "Measured light: " + " ".join(light_sentences(light(image), "where"))
        if what.kind == "colour" and not what.query:
            return ("Measured colours of the centre of the picture " +
                    f"(box {list(centre_box(w, h))}): " + dominant_colours(image).sentence())
        found = self._finder().find(image, what.query, perception)
        lines = [f"Object finder ({found.engine}) looked for \"{found.query}\": " +
                 " ".join(found.sentences())]
        for match in found.matches:
            lines.append(f"- {match.label}: box {list(match.box)} in a {w}x{h} picture, "
                         f"score {match.score:.2f}, {found.where(match)}")
        if what.kind == "colour" and found.found and found.located:
            lines.append("Measured colours in its box: " +
                         dominant_colours(image, found.best.box).sentence())
        return "\n".join(lines)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


# --------------------------------------------------------------------------- watch mode

_STOP_WATCH = re.compile(r"^(?:(?:ok(?:ay)?|please|glimpse),? )?(?:stop|cancel|never ?mind|enough|"
                         r"that's enough|quit|end)(?: (?:it|that|watching|looking|the watch|"
                         r"now|please))*[.!]*$", re.I)
_LIGHT_WATCH = re.compile(r"\b(?:lights?|lamps?)\b(?:.*\b(?P<state>on|off|out)\b)?|"
                          r"\b(?:gets?|goes|turns|is) (?P<level>dark|bright|light)\b", re.I)


@dataclass(frozen=True)
class WatchRequest:
    """What a watch-mode question asks. `kind`: find (`query` the object), light (`query` "on"
    or "off") or stop."""

    kind: str
    query: str = ""

    def describe(self) -> str:
        """What is being watched for, in words: "keys", "the light to go on"."""
        if self.kind == "light":
            return "the light to go " + self.query
        return self.query


def watch_request(question: str) -> WatchRequest | None:
    """"Tell me when you see my keys", "tell me when the light goes on", or "stop"; None for
    any other question."""
    from vision.finder.words import wants_watch

    text = (question or "").strip()
    if _STOP_WATCH.match(text):
        return WatchRequest("stop")
    if not wants_watch(text):
        return None
    light_match = _LIGHT_WATCH.search(text)
    if light_match and not target(text):
        state, level = light_match.group("state"), light_match.group("level")
        off = state in ("off", "out") or level == "dark"
        return WatchRequest("light", "off" if off else "on")
    what = target(text)
    return WatchRequest("find", what) if what else None
