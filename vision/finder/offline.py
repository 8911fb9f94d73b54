"""The offline finder: "is my mug in view?" on the offline pack's weights only (a
`FinderEngine`, `vision.finder.base`):

- the ImageNet classifier over overlapping tiles (the whole picture and a 3x3 grid of
  half-size tiles, one batch), so a small object in a corner still counts; a query means a set
  of classes (`vision.finder.words`: synonyms, hypernyms, and every class whose name ends in
  the word), and a tile's score is their summed probability. The classifier says whether, not
  where: a tile is no location, so its answers carry no direction;
- the text reader (RapidOCR): "find the exit sign" matches the word EXIT, with its place;
- the face and people detectors for "is anyone there?", with their places.

Whether it answers yes, no or "I can't tell" is decided by `vision.perception.claims`: each
detector's score against the thresholds calibrated on the labelled photo set (`glimpse bench
claims`). A "no" comes only from a detector that reliably finds that kind of thing.

Threads: a finder is used by one thread at a time (the answer stage's, the watcher's, or the
CLI's). `load()` takes about a second and belongs on that thread.
"""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from vision.finder.base import Box, FinderOptions, FindResult, Match, where
from vision.finder.words import Meaning, Vocabulary, singular, with_article
from vision.perception.analyze import (Perception, PerceptionResult, fit, too_dark,
                                       too_plain)


# --------------------------------------------------------------------------- tiles


def tiles(width: int, height: int, grid: int) -> list[Box]:
    """The whole picture, then a grid x grid set of overlapping tiles (each 2/(grid+1) of a
    side: with 3, half the side, so neighbours overlap by half), row by row."""
    out: list[Box] = [(0, 0, width, height)]
    if grid <= 1:
        return out
    tw, th = round(2 * width / (grid + 1)), round(2 * height / (grid + 1))
    for gy in range(grid):
        for gx in range(grid):
            x0 = round(gx * (width - tw) / (grid - 1))
            y0 = round(gy * (height - th) / (grid - 1))
            out.append((x0, y0, x0 + tw, y0 + th))
    return out


_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
_STD = np.array([0.229, 0.224, 0.225], np.float32)


def preprocess(crop_bgr: np.ndarray, size: int = 224) -> np.ndarray:
    """The classifier's preprocessing at any input size: short side to size/0.875, centre
    crop size x size, RGB, ImageNet mean/std, NCHW float32 (at 224 the same as
    `Classifier.preprocess`)."""
    import cv2

    h, w = crop_bgr.shape[:2]
    short = round(size / 0.875)
    scale = short / min(h, w)
    resized = cv2.resize(crop_bgr, (max(size, round(w * scale)), max(size, round(h * scale))),
                         interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    rh, rw = resized.shape[:2]
    y, x = (rh - size) // 2, (rw - size) // 2
    crop = resized[y:y + size, x:x + size, ::-1].astype(np.float32) / 255.0
    return np.ascontiguousarray(((crop - _MEAN) / _STD).transpose(2, 0, 1)[None])


def tile_probabilities(classifier: Any, image_bgr: np.ndarray, boxes: list[Box],
                       size: int = 224, threads: int = 0) -> np.ndarray:
    """Softmax over the 1000 ImageNet classes for each box, in one batch: (len(boxes), 1000).
    `threads` > 0 sets torch's (process-wide) thread count for this batch and puts it back."""
    import torch

    batch = np.concatenate([preprocess(image_bgr[y0:y1, x0:x1], size)
                            for x0, y0, x1, y1 in boxes])
    before = torch.get_num_threads()
    if threads and threads != before:
        torch.set_num_threads(threads)
    try:
        with torch.inference_mode():
            logits = classifier.model(torch.from_numpy(batch))
    finally:
        if threads and threads != before:
            torch.set_num_threads(before)
    return torch.softmax(logits, 1).numpy()


# --------------------------------------------------------------------------- the engine


class OfflineFinder:
    """A FinderEngine from the offline pack: classifier tiles, text reader, face and people
    detectors. `classifier` may be injected (any object with `model` and `classes`, like
    `vision.perception.imagenet.Classifier`); without it `load()` builds one, and if the
    weights are missing the finder still answers from text and people, and says so in
    `notes`. `rules` (a `vision.perception.claims.Policy`) replaces the calibrated thresholds
    (the benchmark's calibration uses it)."""

    name = "offline"

    def __init__(self, options: FinderOptions = FinderOptions(), *, classifier: Any = None,
                 vocabulary: Vocabulary | None = None, rules: Any = None) -> None:
        self.options = options
        self.rules = rules  # a vision.perception.claims.Policy; None: the calibrated one
        self.classifier = classifier
        self.vocabulary = vocabulary
        self.notes: list[str] = []
        self._reader: Perception | None = None
        self._people: Perception | None = None
        self._loaded = False

    def load(self) -> None:
        if self._loaded:
            return
        from assistant.errors import ModelError

        self.vocabulary = self.vocabulary or Vocabulary.default()
        if self.classifier is None:
            try:
                from vision.perception.imagenet import Classifier

                self.classifier = Classifier()
            except (ModelError, ImportError) as exc:
                self.notes.append(f"The image classifier is off ({exc}); only text and people "
                                  "can be found")
        self._reader = Perception(ocr=True, faces=False, persons=False, labels=False)
        self._people = Perception(ocr=False, faces=True, persons=True, labels=False)
        self._reader.load()
        self._people.load()
        if self.classifier is not None:  # warm up: the first batch of a size is slow
            tile_probabilities(self.classifier, np.zeros((64, 64, 3), np.uint8),
                               [(0, 0, 64, 64)], self.options.size, self.options.threads)
        self._loaded = True

    def meaning(self, query: str) -> Meaning:
        self.load()
        assert self.vocabulary is not None
        return self.vocabulary.expand(query)

    def find(self, image_bgr: np.ndarray, query: str,
             perception: PerceptionResult | None = None) -> FindResult:
        from vision.perception import claims

        if image_bgr is None or getattr(image_bgr, "size", 0) == 0:
            raise ValueError("empty image")
        meaning = self.meaning(query)
        rules = self.rules or claims.policy()
        image = fit(image_bgr)
        h, w = image.shape[:2]
        timings: dict[str, float] = {}
        matches: list[Match] = []
        probs = None
        lines: tuple = ()
        score, detector, verdict = 0.0, "", claims.UNSURE
        plain = False  # too dark or one flat colour for any "no"
        side_note: tuple[str, ...] = ()
        sign_words = _sign_words(meaning)
        if meaning.person or meaning.face:
            t0 = time.perf_counter()
            result = perception if perception is not None and (
                "faces" in perception.timings_ms) else self._people.analyze(image)
            if self.options.deny and claims.needs_side_look(result, rules):  # a "no" hangs on it
                result = replace(result, side_faces=self._people.side_faces(image))
            timings["people"] = (time.perf_counter() - t0) * 1000
            plain = not claims.clear_enough(result)
            detector = "face" if meaning.face else "person"
            verdict = claims.face_verdict(result, rules) if meaning.face else \
                claims.person_verdict(result, rules)
            score = claims.face_score(result) if meaning.face else max(
                claims.person_score(result), claims.face_score(result))
            scale = w / result.width
            if verdict == claims.YES:
                found = result.faces if meaning.face else claims.people_seen(result, rules)
                for det in found:
                    box = tuple(int(round(v * scale)) for v in det.box)
                    matches.append(Match(detector, box, det.confidence, det.kind))
            elif result.side_faces:
                side = result.side_faces[0]
                box = tuple(int(round(v * scale)) for v in side.box)
                side_note = (f"I may see a face turned to the side, "
                             f"{where(box, w, h, distance=False)}.",)
        elif sign_words or (meaning.text and not meaning.classes):
            # "the exit sign": the word must be read. A word no class means ("passport") is
            # found when it is printed, but never denied: not reading it says nothing.
            t0 = time.perf_counter()
            result = perception if perception is not None and perception.lines is not None \
                and "ocr" in perception.timings_ms else None
            lines = (result or self._reader.analyze(image)).lines
            timings["ocr"] = (time.perf_counter() - t0) * 1000
            plain = too_dark(image)  # a blank page has no text; a dark one may hide it
            scale = w / (result.width if result else w)
            wanted = sign_words or meaning.text
            hits = [line for line in lines
                    if all(singular(t) in {singular(x) for x in _words(line.text)}
                           for t in wanted if len(t) >= 2)]
            score = claims.text_score(hits)
            verdict = rules.text.verdict(score, may_deny=bool(sign_words) and not lines
                                         and not plain)
            detector = "text" if sign_words or verdict == claims.YES else ""
            if verdict == claims.YES:
                for line in hits:
                    box = tuple(int(round(v * scale)) for v in line.box)
                    matches.append(Match(f'the word "{line.text}"', box, line.confidence,
                                         "text"))
        elif meaning.classes and self.classifier is not None and min(h, w) >= 16:
            t0 = time.perf_counter()
            probs = tile_probabilities(self.classifier, image, tiles(w, h, self.options.grid),
                                       self.options.size, self.options.threads)
            timings["classifier"] = (time.perf_counter() - t0) * 1000
            plain = too_plain(image)
            classes = np.fromiter(sorted(meaning.classes), dtype=np.int64)
            detector, score = "classifier", float(probs[:, classes].sum(axis=1).max())
            verdict = rules.classifier.verdict(score, may_deny=meaning.deniable and not plain)
            if verdict == claims.YES:
                matches.append(Match(meaning.query, (0, 0, w, h), score, "classifier"))
        matches.sort(key=lambda m: -m.score)
        instead: tuple[str, ...] = side_note
        if verdict == claims.NO:
            instead = self._instead(image, probs, perception, rules, sign_words)
        elif verdict == claims.UNSURE and sign_words and detector == "text" and lines:
            instead = ('I read "' + " ".join(ln.text for ln in lines[:3]) + '", not the word '
                       + " ".join(w.upper() for w in sign_words) + ".",)
        query_label = meaning.query
        if meaning.person or meaning.face:
            query_label = "face" if meaning.face else "person"
        elif detector == "classifier":
            # The classifier cannot count: "how many taxis?" is answered about a taxi, when
            # the singular means the same classes ("glasses" is no glass).
            words = meaning.query.split()
            one = " ".join(words[:-1] + [singular(words[-1])]) if words else ""
            if one and one != meaning.query and self.meaning(one).classes == meaning.classes:
                query_label = one
        return FindResult(query=query_label, matches=tuple(matches), score=score, width=w,
                          height=h, engine=self.name, seen_instead=instead,
                          understood=not meaning.empty, verdict=verdict, detector=detector,
                          too_plain=plain and verdict == claims.UNSURE, timings_ms=timings)

    def _instead(self, image: np.ndarray, probs: np.ndarray | None,
                 perception: PerceptionResult | None, rules: Any,
                 sign_words: tuple[str, ...]) -> tuple[str, ...]:
        """What the picture shows, for "No, I don't see a dog. It looks like a cat.": the whole
        picture's best classifier guess when it reaches the scene sentence's yes threshold, read
        text and people when the caller's perception has them (each at its detector's yes)."""
        from vision.perception import claims

        out: list[str] = []
        yes_at = rules.scene.yes_at
        if self.classifier is not None and yes_at is not None and min(image.shape[:2]) >= 16:
            if probs is None:
                h, w = image.shape[:2]
                probs = tile_probabilities(self.classifier, image, tiles(w, h, 1),
                                           self.options.size, self.options.threads)
            index = int(np.argmax(probs[0]))
            if float(probs[0, index]) >= yes_at:
                out.append(f"It looks like {with_article(self.classifier.classes[index])}.")
        if perception is not None:
            # Only what the text and people detectors may say yes to: no stray "O" as text.
            lines = [ln for ln in perception.lines
                     if claims.text_score([ln]) > 0 and rules.text.verdict(
                         claims.text_score([ln]), may_deny=False) == claims.YES]
            if lines and not sign_words:
                out.append('Text: "' + " ".join(ln.text for ln in lines[:3]) + '".')
            people = len(claims.people_seen(perception, rules))
            if people:
                out.append("One person is in view." if people == 1 else
                           f"{people} people are in view.")
        return tuple(out)


def _sign_words(meaning: Meaning) -> tuple[str, ...]:
    """The words that must be on a sign or label the query names ("exit sign" -> ("exit",)),
    or () when the query is not about a sign with words."""
    from vision.finder.words import TEXT_WORDS

    words = meaning.query.split()
    if len(words) > 1 and words[-1] in TEXT_WORDS:
        return tuple(w for w in words if w not in TEXT_WORDS)
    return ()


def _words(text: str) -> list[str]:
    import re

    return re.findall(r"[a-z0-9]+", text.lower())
