"""The offline finder: "is my mug in view, where?" on the offline pack's weights only
(a `FinderEngine`, `vision.finder.base`):

- the ImageNet classifier over overlapping tiles (the whole picture and a 3x3 grid of
  half-size tiles, one batch), so a small object in a corner still counts and the tile says
  where it is; a query means a set of classes (`vision.finder.words`: synonyms, hypernyms,
  and every class whose name ends in the word), and a tile's score is their summed
  probability;
- the text reader (RapidOCR): "find the exit sign" matches the word EXIT;
- the face and people detectors for "is anyone there?".

Thresholds (`FinderOptions`): a classifier score of 0.45 or more is a yes, 0.15 to 0.45 is
"I think", less is no. Measured on the test photos: the right object scores 0.5-0.97 in its best
tile, unrelated queries stay under 0.06 (a bicycle in the coffee photo: 0.001, a dog in the
cat photo: 0.057).

Threads: a finder is used by one thread at a time (the answer stage's, the watcher's, or the
CLI's). `load()` takes about a second and belongs on that thread.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from vision.finder.base import Box, FinderOptions, FindResult, Match
from vision.finder.words import Meaning, Vocabulary, singular, with_article
from vision.perception.analyze import Perception, PerceptionResult, fit


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


def places(scores: np.ndarray, grid: int, keep: float) -> list[list[int]]:
    """Separate places on the tile grid: groups of touching tiles (8-neighbours) scoring at
    least `keep`, best group first. `scores` has one value per grid tile, row by row."""
    todo = {i for i, s in enumerate(scores) if s >= keep}
    groups: list[list[int]] = []
    while todo:
        stack, group = [max(todo, key=lambda i: scores[i])], []
        todo.discard(stack[0])
        while stack:
            i = stack.pop()
            group.append(i)
            for j in list(todo):
                if abs(j // grid - i // grid) <= 1 and abs(j % grid - i % grid) <= 1:
                    todo.discard(j)
                    stack.append(j)
        groups.append(group)
    return sorted(groups, key=lambda g: -max(scores[i] for i in g))


# --------------------------------------------------------------------------- the engine


class OfflineFinder:
    """A FinderEngine from the offline pack: classifier tiles, text reader, face and people
    detectors. `classifier` may be injected (any object with `model` and `classes`, like `vision.perception.imagenet.Classifier`); without it `load()` builds one, and if the
    weights are missing the finder still answers from text and people, and says so in
    `notes`."""

    name = "offline"

    def __init__(self, options: FinderOptions = FinderOptions(), *, classifier: Any = None,
                 vocabulary: Vocabulary | None = None) -> None:
        self.options = options
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
        if image_bgr is None or getattr(image_bgr, "size", 0) == 0:
            raise ValueError("empty image")
        meaning = self.meaning(query)
        image = fit(image_bgr)
        h, w = image.shape[:2]
        timings: dict[str, float] = {}
        matches: list[Match] = []
        best = 0.0
        probs = None
        sign_words = _sign_words(meaning)
        if self.classifier is not None and min(h, w) >= 16 and meaning.classes:
            t0 = time.perf_counter()
            boxes = tiles(w, h, self.options.grid)
            probs = tile_probabilities(self.classifier, image, boxes, self.options.size,
                                       self.options.threads)
            timings["classifier"] = (time.perf_counter() - t0) * 1000
            found, best = self._from_tiles(meaning, probs, boxes)
            if found and found[0].box != boxes[0] and not sign_words and self.options.refine:
                found[0] = self._refine(image, meaning, found[0])
            if sign_words:
                # "the exit sign": a sign is not enough, the word must be on it.
                best = 0.0
            else:
                matches += found
        needs_text = meaning.text and not meaning.person and not meaning.face and (
            self.options.ocr == "always" or (self.options.ocr == "auto" and (
                not meaning.classes or bool(sign_words))))
        if needs_text:
            t0 = time.perf_counter()
            result = perception if perception is not None and perception.lines is not None \
                and "ocr" in perception.timings_ms else None
            lines = (result or self._reader.analyze(image)).lines
            timings["ocr"] = (time.perf_counter() - t0) * 1000
            scale = w / (result.width if result else w)
            for line in lines:
                words = {singular(t) for t in _words(line.text)}
                wanted = sign_words or meaning.text
                if all(singular(t) in words for t in wanted if len(t) >= 2):
                    box = tuple(int(round(v * scale)) for v in line.box)
                    matches.append(Match(f'the word "{line.text}"', box, line.confidence,
                                         "text"))
                    best = max(best, line.confidence)
        if (meaning.person or meaning.face) and self.options.people:
            t0 = time.perf_counter()
            result = perception if perception is not None and (
                "faces" in perception.timings_ms) else self._people.analyze(image)
            timings["people"] = (time.perf_counter() - t0) * 1000
            scale = w / result.width
            found = result.faces if meaning.face else result.people
            for det in found:
                box = tuple(int(round(v * scale)) for v in det.box)
                score = min(1.0, 0.6 + 0.1 * det.confidence) if det.kind == "face" \
                    else min(1.0, det.confidence / 2)
                label = "face" if meaning.face else "person"
                matches.append(Match(label, box, max(score, self.options.found), det.kind))
                best = max(best, max(score, self.options.found))
        matches.sort(key=lambda m: -m.score)
        instead: tuple[str, ...] = ()
        if not matches:
            if probs is None and self.classifier is not None and min(h, w) >= 16:
                probs = tile_probabilities(self.classifier, image, tiles(w, h, 1),
                                           self.options.size, self.options.threads)
            instead = self._instead(probs, perception, meaning, sign_words)
        query_label = meaning.query
        if meaning.person or meaning.face:
            query_label = "face" if meaning.face else "person"
        return FindResult(query=query_label, matches=tuple(matches), score=best, width=w,
                          height=h, found_at=self.options.found, engine=self.name,
                          seen_instead=instead, understood=not meaning.empty,
                          timings_ms=timings)

    def _from_tiles(self, meaning: Meaning, probs: np.ndarray, boxes: list[Box]
                    ) -> tuple[list[Match], float]:
        classes = np.fromiter(sorted(meaning.classes), dtype=np.int64)
        scores = probs[:, classes].sum(axis=1)
        best = float(scores.max())
        if best < self.options.maybe:
            return [], best
        grid = self.options.grid
        if grid <= 1:
            return [Match(meaning.query, boxes[0], best, "classifier")], best
        tile_scores = scores[1:]
        keep = max(self.options.maybe, 0.5 * float(tile_scores.max()))
        groups = places(tile_scores, grid, keep)
        if not groups:  # only the whole picture matches: it fills the view
            return [Match(meaning.query, boxes[0], best, "classifier")], best
        out = []
        for group in groups:
            chosen = [boxes[1 + i] for i in group]
            weights = np.array([tile_scores[i] for i in group])
            box = _weighted_box(chosen, weights)
            out.append(Match(meaning.query, box, float(weights.max()), "classifier"))
        # A place is one object only if it stands clear of the best one: the classifier cannot
        # count, so weak second places (under half the best) are not reported as more things.
        first = out[0].score
        out = [out[0], *[m for m in out[1:] if m.score >= max(0.5 * first,
                                                                self.options.found)]]
        return out, best

    def _refine(self, image: np.ndarray, meaning: Meaning, match: Match) -> Match:
        """Look closer at the best place: four overlapping sub-tiles of its box (one more
        batch). The box moves to the weighted centre of the sub-tiles that still see the thing
        (a tile is coarse: an object in its corner would be said a clock hour off)."""
        x0, y0, x1, y1 = match.box
        h, w = image.shape[:2]
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if min(x1 - x0, y1 - y0) < 64:
            return match
        sub = [(bx0 + x0, by0 + y0, bx1 + x0, by1 + y0)
               for bx0, by0, bx1, by1 in tiles(x1 - x0, y1 - y0, 2)[1:]]
        classes = sorted(meaning.classes)
        scores = tile_probabilities(self.classifier, image, sub, self.options.size,
                                    self.options.threads)[:, classes].sum(axis=1)
        top = float(scores.max())
        if top < 0.5 * match.score or top < self.options.maybe:
            return match
        keep = scores >= 0.5 * top
        box = _weighted_box([b for b, k in zip(sub, keep) if k], scores[keep])
        return Match(match.label, box, max(match.score, top), match.source)

    def _instead(self, probs: np.ndarray | None, perception: PerceptionResult | None,
                 meaning: Meaning, sign_words: tuple[str, ...]) -> tuple[str, ...]:
        """What the picture shows, for "I don't see a bicycle. I see an espresso.": the whole
        picture's best classifier guess, a sign without the asked-for word, read text and
        people when the caller's perception has them."""
        out: list[str] = []
        if probs is not None and self.classifier is not None:
            if sign_words and meaning.classes:
                sign = float(probs[:, sorted(meaning.classes)].sum(axis=1).max())
                if sign >= self.options.found:
                    out.append("I see a sign, but not the word "
                               + " ".join(w.upper() for w in sign_words) + " on it.")
            index = int(np.argmax(probs[0]))
            prob = float(probs[0, index])
            if prob >= 0.15 and not out:
                name = with_article(self.classifier.classes[index])
                out.append(f"I see {name}." if prob >= 0.6 else f"I think I see {name}.")
        if perception is not None:
            if perception.lines and not sign_words:
                out.append('Text: "' + " ".join(ln.text for ln in perception.lines[:3]) + '".')
            people = len(perception.people)
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


def _weighted_box(boxes: list[Box], weights: np.ndarray) -> Box:
    """A box the size of one tile, centred on the score-weighted centre of the tiles: where the
    object most likely is, without claiming it is as big as all of them together."""
    arr = np.asarray(boxes, dtype=float)
    cx = float(np.average((arr[:, 0] + arr[:, 2]) / 2, weights=weights))
    cy = float(np.average((arr[:, 1] + arr[:, 3]) / 2, weights=weights))
    tw, th = float(np.mean(arr[:, 2] - arr[:, 0])), float(np.mean(arr[:, 3] - arr[:, 1]))
    return (int(cx - tw / 2), int(cy - th / 2), int(cx + tw / 2), int(cy + th / 2))

