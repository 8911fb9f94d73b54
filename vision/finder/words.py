"""What a "find" question asks for, and what that means to the offline finder's models.

`target(question)` takes the object out of a question ("is my mug in view, where?" -> "mug");
`Vocabulary.expand(phrase)` turns it into what the offline models can see: ImageNet classes
(synonyms and hypernyms from `resources/finder_vocabulary.txt`, plus every class whose name
ends in the word), words to look for in OCR text, and whether the face or people detector
answers it.

Pure functions and a frozen table: no models, safe on any thread.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from resources import ROOT as RESOURCES

VOCABULARY_FILE = RESOURCES / "finder_vocabulary.txt"
CLASSES_FILE = RESOURCES / "imagenet_classes.txt"

# Words that say nothing about the object: articles, owners, filler, places.
STOP_WORDS = frozenset("""a an the my our your his her their its this that these those some any
one of in on at to for with me i you we it is are there here please can could would will do does
see find look looking for where which what show tell when in view visible around front near me
anywhere thing things object something somewhere picture image photo frame camera""".split())
# Words of a sign or label: the OCR words next to them are what to find ("the exit sign").
TEXT_WORDS = frozenset({"sign", "signs", "label", "labels", "text", "word", "words", "written",
                        "says", "saying", "poster", "notice", "board"})

# The question forms that ask for one thing. The object is what is left after the form.
_FORMS = [
    r"^(?:tell me|let me know|say|alert me|warn me) (?:when|if|once) (?:you )?(?:can )?"
    r"(?:see|spot|find|notice) (?P<what>.+)$",
    r"^(?:watch|look) (?:out )?for (?P<what>.+)$",
    r"^(?:is|are) (?P<what>.+?) (?:in view|visible|in (?:the )?(?:picture|frame|shot|image)|"
    r"(?:in )?here|there|around|nearby|in front of me)\b.*$",
    r"^(?:is|are) there (?P<what>.+?)(?: (?:here|there|in view|in (?:the )?(?:picture|frame|"
    r"image)|around|nearby|in front of me))?$",
    r"^(?:where(?:'s| is| are)|where) (?P<what>.+?)(?: (?:now|here|located|in (?:the )?(?:picture|"
    r"frame|image)))?$",
    r"^(?:can|do) you see (?P<what>.+?)(?: (?:here|there|anywhere|now|in (?:the )?(?:picture|"
    r"frame|image)))?$",
    r"^(?:find|locate|look for|search for|spot|show me) (?P<what>.+)$",
    r"^(?:how many) (?P<what>.+?)(?: (?:are there|can you see|do you see|are in view|are "
    r"here))?$",
    r"^(?:any) (?P<what>.+?)(?: (?:here|there|around|in view))?$",
]
_FORM_RES = [re.compile(form, re.I) for form in _FORMS]
_WATCH = re.compile(r"^(?:tell me|let me know|say|alert me|warn me) (?:when|if|once)|"
                    r"^(?:watch|look) (?:out )?for\b", re.I)
_COUNT = re.compile(r"^how many\b", re.I)


def _clean(question: str) -> str:
    text = re.sub(r"[?!.,;:\"]+", " ", question or "").strip().lower()
    text = re.sub(r"\s+", " ", text)
    return re.sub(r",? ?(?:and )?(?:where(?: is it| are they)?|if so where)$", "", text).strip()


def target(question: str) -> str | None:
    """The thing a find question asks for ("is my mug in view, where?" -> "mug"), or None when
    the question is not a find question ("describe the scene", "what colour is this?")."""
    text = _clean(question)
    for form in _FORM_RES:
        match = form.match(text)
        if match:
            what = phrase(match.group("what"))
            return what or None
    return None


def wants_watch(question: str) -> bool:
    """"Tell me when you see my keys": keep looking until it appears."""
    return bool(_WATCH.match(_clean(question)))


def wants_count(question: str) -> bool:
    return bool(_COUNT.match(_clean(question)))


def phrase(words: str) -> str:
    """The object words of a phrase, without articles, owners and filler ("my red mug" ->
    "red mug")."""
    kept = [w for w in re.findall(r"[a-z0-9][a-z0-9'-]*", words.lower()) if w not in STOP_WORDS]
    return " ".join(kept)


def with_article(noun: str) -> str:
    """"a cup", "an apple", and plurals as they are ("keys", "glasses")."""
    last = noun.split()[-1] if noun.split() else noun
    if len(last) > 2 and last.endswith("s") and not last.endswith(("ss", "us", "is")):
        return noun
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def singular(word: str) -> str:
    if len(word) > 3 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 2 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


@dataclass(frozen=True)
class Meaning:
    """What the offline models can look for. `classes` are ImageNet class indices; `text`
    are words to find in OCR text (lower case); `person`/`face` ask the detectors;
    `deniable`: every sort of the thing has a class (`@deny` in the table), so the classifier
    may say "no" (`vision.perception.claims`)."""

    query: str
    classes: frozenset[int] = frozenset()
    text: tuple[str, ...] = ()
    person: bool = False
    face: bool = False
    deniable: bool = False

    @property
    def empty(self) -> bool:
        return not (self.classes or self.text or self.person or self.face)


class Vocabulary:
    """The word table, loaded once. Raises ValueError naming the line if the file refers to a
    class or word that does not exist (a typo would otherwise silently find nothing)."""

    def __init__(self, lines: list[str], classes: list[str]) -> None:
        self.classes = classes
        self._by_name: dict[str, list[int]] = {}
        for index, name in enumerate(classes):
            self._by_name.setdefault(name.lower(), []).append(index)
        self._raw: dict[str, list[str]] = {}
        for number, line in enumerate(lines, 1):
            line = line.split("#", 1)[0] if not re.search(r"#\d", line) else line
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if ":" not in line:
                raise ValueError(f"vocabulary line {number}: no ':' in {line.strip()!r}")
            word, targets = line.split(":", 1)
            self._raw[word.strip().lower()] = [t.strip() for t in targets.split(",") if t.strip()]
        for word in self._raw:  # check every target now
            self._resolve(word, ())

    @classmethod
    @lru_cache(maxsize=1)
    def default(cls) -> "Vocabulary":
        names = [ln.strip() for ln in CLASSES_FILE.read_text(encoding="utf-8").splitlines()
                 if ln.strip()]
        return cls(VOCABULARY_FILE.read_text(encoding="utf-8").splitlines(), names)

    def _resolve(self, word: str, seen: tuple[str, ...]) -> tuple[set[int], bool, bool]:
        classes: set[int] = set()
        person = face = False
        for t in self._raw.get(word, ()):
            if t.startswith("-"):  # an exclusion: see `_word_classes`
                if t[1:].strip().lower() not in self._by_name:
                    raise ValueError(f"vocabulary: {word!r} excludes {t[1:].strip()!r}, which "
                                     "is not an ImageNet class")
                continue
            if t == "@deny":
                continue  # said by the word itself, not inherited (see `deniable`)
            if t == "@person":
                person = True
            elif t == "@face":
                face = True
            elif t.startswith("#"):
                lo, _, hi = t[1:].partition("-")
                classes.update(range(int(lo), int(hi or lo) + 1))
            elif t.lower() in self._raw or t.lower() in self._by_name:
                # A word of the table brings its own targets; a class name is that class.
                # Both, when it is both ("dock").
                if t.lower() in self._raw and t.lower() != word and t.lower() not in seen:
                    sub, p, f = self._resolve(t.lower(), (*seen, word))
                    classes |= sub
                    person, face = person or p, face or f
                classes.update(self._by_name.get(t.lower(), ()))
            elif t.lower() != word:
                raise ValueError(f"vocabulary: {word!r} refers to {t!r}, which is neither an "
                                 "ImageNet class nor a word of the vocabulary")
        return classes, person, face

    def deniable(self, word: str) -> bool:
        """Whether the word's own line says `@deny`."""
        return "@deny" in self._raw.get(word, ())

    def _word_classes(self, word: str) -> set[int]:
        """Classes named by the word itself: the class "word", or any ending in " word", less
        the word's exclusions ("dog: ..., -hot dog")."""
        out: set[int] = set()
        for name, indices in self._by_name.items():
            if name == word or name.endswith(" " + word) or name.startswith(word + " / "):
                out.update(indices)
        for t in self._raw.get(word, ()):
            if t.startswith("-"):
                out.difference_update(self._by_name.get(t[1:].strip().lower(), ()))
        return out

    def expand(self, query: str) -> Meaning:
        """What to look for. The whole phrase is tried first ("big cat", "coffee mug"), then its
        last word (the head noun: "red mug" -> "mug"); OCR looks for every word."""
        words = phrase(query).split()
        if not words:
            return Meaning(query=query)
        text_words = tuple(w for w in words if w not in TEXT_WORDS)
        whole = " ".join(words)
        classes: set[int] = set()
        person = face = deny = False
        candidates = [whole, " ".join(singular(w) for w in words)]
        head = words[-1]
        if head in TEXT_WORDS and len(words) > 1:
            # "the exit sign": a sign, and the word EXIT on it.
            candidates += [head]
        else:
            candidates += [head, singular(head)]
        for candidate in dict.fromkeys(candidates):
            found, p, f = self._resolve(candidate, ())
            found |= self._word_classes(candidate)
            classes |= found
            person, face = person or p, face or f
            deny = deny or (bool(found) and self.deniable(candidate))
            if found or p or f:
                if candidate in (whole, " ".join(singular(w) for w in words)):
                    break
        # "red car" is a car: the head word may deny; "toy car" resolves as a phrase of its own.
        return Meaning(query=whole, classes=frozenset(classes), text=text_words,
                       person=person, face=face, deniable=deny)
