"""The offline describer: an answer engine (VlmEngine) built on local perception only.

When no vision-language model is installed, Glimpse still says what it can find for certain:
text (read with read mode's reader, so its word spaces are mended, in reading order), people and
where they are (clock directions), what the ImageNet classifier sees when its measured precision
allows it ("It looks like a cat.", said only at or above the classifier's calibrated yes
threshold, `vision.perception.claims`; else left out), and how good the picture is. It never
pretends to understand the scene like a VLM: a free question gets what it can tell, introduced
as such; "is there any text?" gets yes, no or "I can't tell" from the text detector's measured
thresholds.

    Text: "EMERGENCY EXIT". One person, centre. Dark image.

Threads: `load()` and `stream()` run on the answer stage's thread (or the CLI's).
"""
from __future__ import annotations

import re
from typing import Callable, Iterator

from assistant.events import Mode
from assistant.ports import VlmEngine, VlmRequest
from assistant.stage import CancelToken
from vision.answer.intents import IntentAnswerer, intent
from vision.perception.analyze import Perception, PerceptionResult

VERBOSITIES = ("brief", "normal", "detailed")
_NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")

_READ_WORDS = re.compile(r"\b(read|text|says?|written|writing|sign|label|words?|letters?)\b", re.I)
_CHANGE_WORDS = re.compile(r"\b(what('s| has| is)? changed|what('s| is) different|anything "
                           r"new|changes?)\b", re.I)
# Questions the describer can answer in full: it describes.
_DESCRIBE_WORDS = re.compile(r"\b(describe|description|what (do|can) you see|what('s| is) (in front|"
                             r"around|here|there)|where am i|look(ing)? at|surroundings)\b", re.I)
#: "Is there any text?", "is there writing on it?": a yes/no about text (the reader answers).
_TEXT_QUESTION = re.compile(r"^(?:is|are) there (?:any |some )?(?:text|writing|words?|letters|"
                            r"print(?:ing)?)\b|^(?:can|do) you see (?:any |some )?(?:text|"
                            r"writing|words?)\b|^(?:is|does) (?:it|this|that) (?:have|say|show) "
                            r"(?:any )?(?:text|writing|words?)\b", re.I)
_PEOPLE_WORDS = re.compile(r"\b(who|anyone|anybody|someone|somebody|person|people|faces?|man|"
                           r"woman|men|women)\b", re.I)


def is_what_changed(question: str) -> bool:
    return bool(_CHANGE_WORDS.search(question or ""))


def spoken_command(question: str) -> str | None:
    """The scene-mode voice command in a question: "read" ("read the text", "what does the sign
    say?"), "what_changed" ("what changed?"), or None for anything else. Engines use it to pick
    the read / what-changed behaviour (and prompt) whatever the pipeline's mode."""
    if is_what_changed(question):
        return "what_changed"
    if _READ_WORDS.search(question or ""):
        return "read"
    return None


def _count(n: int) -> str:
    return _NUMBERS[n] if n < len(_NUMBERS) else str(n)


def _article(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def _quote(lines: list[str]) -> str:
    return " ".join(f'"{line}"' for line in lines)


def people_sentence(result: PerceptionResult, rules=None) -> str:
    """"One person, centre." for the people the detectors' calibrated yes thresholds allow
    (`vision.perception.claims.people_seen`); "" with none."""
    from vision.perception import claims

    people = claims.people_seen(result, rules)
    if not people:
        return ""
    if len(people) == 1:
        return f"One person, {people[0].position}."
    where = ", ".join(p.position for p in people[:-1]) + " and " + people[-1].position
    return f"{_count(len(people)).capitalize()} people: {where}."


def object_sentence(result: PerceptionResult, rules=None) -> str:
    """"It looks like a cat." when the classifier's guess reaches its calibrated yes threshold
    (`vision.perception.claims`); "" below it: a guess under it is wrong too often to say."""
    from vision.perception import claims

    guess = result.object_guess()
    yes_at = (rules or claims.policy()).scene.yes_at
    if guess is None or yes_at is None or guess[1] < yes_at:
        return ""
    return f"It looks like {_article(guess[0])}."


def text_claim(lines, rules=None, seen: PerceptionResult | None = None) -> str:
    """The text detector's verdict (yes | no | unsure) on the reader's lines; `seen`: the
    same picture's perception (its OCR lines and quality: a no needs both to find nothing,
    in a picture clear enough, `vision.perception.claims.text_verdict`)."""
    from vision.perception import claims

    if seen is None:
        return claims.text_verdict(lines, rules)
    return claims.text_verdict(lines, rules, marks=seen.lines, clear=not seen.dark)


def people_faces(result: PerceptionResult, rules=None) -> tuple:
    """The faces the face detector's calibrated yes threshold allows saying."""
    from vision.perception import claims

    rules = rules or claims.policy()
    return tuple(f for f in result.faces if rules.face.verdict(f.confidence) == claims.YES)


def describe_sentences(result: PerceptionResult, verbosity: str = "normal",
                       hints: bool = True, text: list[str] | None = None) -> list[str]:
    """What the describer says about one picture, hazards first, one sentence per item. `text`:
    the reader's lines (with their word spaces mended) instead of perception's raw OCR lines."""
    out: list[str] = []
    for hazard in result.hazards():
        out.append(f"Careful: I think I see {hazard}.")
    if hints:
        out.extend(result.hints())
    max_lines = {"brief": 2, "normal": 6, "detailed": 1000}[verbosity]
    lines = [line.text for line in result.lines] if text is None else list(text)
    if lines:
        more = len(lines) - max_lines
        out.append(f'Text: "{" ".join(lines[:max_lines])}".' + (
            f" And {_count(more)} more line{'s' if more > 1 else ''}." if more > 0 else ""))
    people = people_sentence(result)
    if people:
        out.append(people)
    obj = object_sentence(result)
    if obj:
        out.append(obj)
    if verbosity == "detailed":
        # Faces at the face detector's calibrated yes only; the classifier's second and third
        # guesses are never said (under the scene sentence's measured precision).
        faces = [f for f in result.faces if f in people_faces(result)]
        if faces:
            out.append(f"{_count(len(faces)).capitalize()} face"
                       f"{'s' if len(faces) > 1 else ''} visible.")
    if not hints:  # the coach's sentences already say dark/blurred
        if result.dark:
            out.append("Dark image.")
        if result.blurred:
            out.append("Blurred image.")
    if not lines and not people and obj == "":
        out.append("I can't make out any text, people or objects I know.")
    if verbosity == "brief":
        # Hazards and hints stay; of the rest, keep the first two.
        fixed = len(result.hazards()) + (len(result.hints()) if hints else 0)
        out = out[:fixed + 2]
    return out


def read_sentences(result: PerceptionResult, hints: bool = True) -> list[str]:
    """Read mode: the text verbatim in reading order, one line per piece."""
    out: list[str] = []
    if hints:
        out.extend(h for h in result.hints() if "cut off" in h or not result.lines)
    if not result.lines:
        out.append("I can't find any text.")
        return out
    out.extend(line.text for line in result.lines)
    return out


def what_changed(previous: PerceptionResult | None, current: PerceptionResult) -> list[str]:
    """What is different between two pictures, by what perception found in each."""
    if previous is None:
        return ["I have no earlier picture to compare with."]
    out: list[str] = []
    before = {line.text for line in previous.lines}
    after = {line.text for line in current.lines}
    new = [line.text for line in current.lines if line.text not in before]
    gone = [line.text for line in previous.lines if line.text not in after]
    if new:
        out.append(f"New text: {_quote(new[:4])}.")
    if gone:
        out.append(f"Text gone: {_quote(gone[:4])}.")
    from vision.perception import claims

    n0, n1 = len(claims.people_seen(previous)), len(claims.people_seen(current))
    if n1 > n0:
        out.append(f"{_count(n1 - n0).capitalize()} more "
                   f"{'person' if n1 - n0 == 1 else 'people'}. {people_sentence(current)}")
    elif n1 < n0:
        out.append(f"{_count(n0 - n1).capitalize()} fewer "
                   f"{'person' if n0 - n1 == 1 else 'people'}; "
                   + (people_sentence(current) or "none that I can see now."))
    g0, g1 = previous.object_guess(), current.object_guess()
    scene = object_sentence(current)  # only at the scene sentence's calibrated precision
    if scene and g1 is not None and (g0 is None or g0[0] != g1[0]):
        out.append("Now " + scene[0].lower() + scene[1:])
    if current.dark and not previous.dark:
        out.append("It got dark.")
    elif previous.dark and not current.dark:
        out.append("It is brighter now.")
    return out or ["Nothing important has changed."]


class Describer(VlmEngine):
    """A VlmEngine that answers from local perception. `name = "describer"`.

    `verbosity` is brief | normal | detailed (scene mode's setting); `hints` turns the aiming
    coach on; `labels` turns the ImageNet classifier on (it needs torch and the weights package).
    `reader` (a `vision.reading.reader.Reader`) answers read mode when given.
    """

    name = "describer"

    def __init__(self, perception: Perception | None = None, *, verbosity: str = "normal",
                 hints: bool = True, labels: bool = True, reader=None) -> None:
        if verbosity not in VERBOSITIES:
            raise ValueError(f"verbosity must be one of {VERBOSITIES}, not {verbosity!r}")
        self.perception = perception or Perception(labels=labels)
        self.verbosity = verbosity
        self.hints = hints
        self.reader = reader
        self._last_key: tuple | None = None
        self._last: PerceptionResult | None = None
        self._previous: PerceptionResult | None = None
        self._prepared = None  # the turn's early frame (ev.Frame), looked at before the question
        self._read_key: tuple | None = None
        self._read = None  # the reader's result for `_read_key` (a vision.reading.reader.ReadResult)
        self.intents = IntentAnswerer()  # find, colour, light: the finder loads on first use

    def load(self) -> None:
        self.perception.load()
        if self.reader is not None:  # at start-up, not on the first "read this" turn
            self.reader.load()

    def analyze(self, image, key: tuple | None = None) -> PerceptionResult:
        """Perception of an image, cached for the same frame (`key`: its capture time and id).

        The result of the frame before (a different key) is kept for "what changed?".
        """
        if key is not None and key == self._last_key and self._last is not None:
            return self._last
        result = self.perception.analyze(image)
        if self._last is not None:
            self._previous = self._last
        self._last_key, self._last = key, result
        return result

    @property
    def previous(self) -> PerceptionResult | None:
        return self._previous

    def prepare_frame(self, frame, cancel: CancelToken | None = None,
                      history: tuple[tuple[str, str], ...] = ()) -> None:
        """Analyze a frame ahead of the question (see AnswerStage): the idle view, the early
        frame at the press, while the question is spoken, and the turn's frame at release (the
        same frame, already analyzed, while the scene has not changed). The analysis is one
        pass: a cancel counts before it starts."""
        if cancel is not None and cancel.cancelled:
            return
        self._prepared = frame
        self.analyze(frame.image, frame.key)

    def prepare_question(self, text: str, mode: Mode, turn_id: int) -> None:
        """The question so far: when it asks to read, read the turn's early frame now, so the
        answer at release finds the text already read. Frames too large for one look (photos
        that need the tile pass, with its time budget) are left to the question itself."""
        frame = self._prepared
        if frame is None or frame.turn_id != turn_id or not self._wants_reading(text, mode):
            return
        from vision.reading.reader import MAX_SIDE

        if max(frame.image.shape[:2]) <= MAX_SIDE:
            self._read_frame(frame)

    def _wants_reading(self, question: str, mode: Mode) -> bool:
        """Whether the reader answers: read mode, or "read ..." that is no direct question
        ("is my mug here?", "what colour is this?"), with a reader at hand."""
        if self.reader is None:
            return False
        if mode == Mode.READ:
            return True
        question = question.strip()
        return intent(question) is None and spoken_command(question) == "read"

    def _read_frame(self, frame, stop: Callable[[], bool] | None = None):
        """The reader's result for `frame`, kept for the same frame (a complete one only)."""
        if frame.key == self._read_key and self._read is not None:
            return self._read
        result = self.reader.read(frame.image, stop=stop)
        if not result.tiles_left:
            self._read_key, self._read = frame.key, result
        return result

    def answer(self, request: VlmRequest, stop: Callable[[], bool] | None = None) -> list[str]:
        """The answer as pieces (sentences, or lines of text in read mode). `stop()` cuts the
        reader's look at a large photo's tiles short (a new question came in)."""
        if request.frame is None:
            return ["I have no picture from the camera, so I can't describe anything."]
        frame = request.frame
        question = (request.question or "").strip()
        direct = intent(question) if request.mode != Mode.READ else None
        if direct is not None:  # "is my mug in view?", "what colour is this?", "light on?"
            result = self.analyze(frame.image, frame.key)
            return self.intents.answer(direct, frame.image, result)
        if self.reader is not None and request.mode != Mode.READ and \
                _TEXT_QUESTION.search(question):
            return self._text_answer(self._read_frame(frame, stop),
                                     self.analyze(frame.image, frame.key))
        if self._wants_reading(question, request.mode):
            # The reader turns the page upright, mends word spaces and joins lines.
            return self._read_frame(frame, stop).sentences(self.hints)
        command = spoken_command(question)
        result = self.analyze(frame.image, frame.key)
        if request.mode == Mode.READ or command == "read":
            return read_sentences(result, self.hints)
        if command == "what_changed":
            return what_changed(self._previous, result)
        text = self._scene_text(frame, result, stop)
        if request.mode == Mode.DESCRIBE or not question or _DESCRIBE_WORDS.search(question):
            return describe_sentences(result, self.verbosity, self.hints, text)
        # A free question: answer what perception can, and say what it cannot.
        if _PEOPLE_WORDS.search(question):
            said = people_sentence(result)
            return [said or self._no_one(frame, result)]
        # A short first clause: it is what the user hears first (speech starts per clause).
        intro = "Without the image model, I can only tell you what I see."
        return [intro, *describe_sentences(result, "normal", self.hints, text)]

    def _scene_text(self, frame, result: PerceptionResult, stop) -> list[str] | None:
        """The picture's text as read mode reads it (word spaces mended, lines in order), when
        perception saw any and a reader is at hand; None: perception's own lines are used."""
        if self.reader is None or not result.lines:
            return None
        return [line.text for line in self._read_frame(frame, stop).lines]

    def _text_answer(self, read, seen: PerceptionResult) -> list[str]:
        """"Is there any text?": yes with what it says, no, or "I can't tell". `seen`: the
        same frame's perception (its own OCR lines and the picture's quality)."""
        from vision.perception import claims

        said = text_claim(read.lines, seen=seen)
        if said == "yes":
            return ["Yes, there is text.", *read.sentences(self.hints)]
        if said == "no":
            return ["No, I can't find any text."]
        if not read.lines and not seen.lines:  # nothing at all, in a picture too dark to say
            return [claims.cannot_tell("any text", dark=True)]
        return ["I can't tell whether there is text: I see marks that might be letters, but I "
                "can't read them."]

    def _no_one(self, frame, result: PerceptionResult) -> str:
        """"Who is there?" with no one to name: "no one close by" only as the finder would say
        it (`vision.perception.claims.person_verdict`, after the side look), else "I can't
        tell"."""
        from dataclasses import replace

        from vision.perception import claims

        rules = claims.policy()
        if claims.needs_side_look(result, rules):
            result = replace(result, side_faces=self.perception.side_faces(frame.image))
        if claims.person_verdict(result, rules) == claims.NO:
            return "I don't see anyone close by."
        return claims.cannot_tell("anyone", dark=not claims.clear_enough(result))

    def stream(self, request: VlmRequest, cancel: CancelToken) -> Iterator[str]:
        pieces = self.answer(request, stop=lambda: cancel.cancelled)
        joiner = "\n" if request.mode == Mode.READ else " "
        for index, piece in enumerate(pieces):
            if cancel.cancelled:
                return
            yield piece if index == len(pieces) - 1 else piece + joiner


def from_config(config) -> Describer:
    """The describer with the scene settings (verbosity, aiming hints) from the config."""
    from vision.reading import reader as reading

    return Describer(verbosity=config.scene.verbosity, hints=config.scene.aiming_hints,
                     reader=reading.from_config(config))
