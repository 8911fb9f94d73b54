"""Photo search by text: rank the pictures of a folder by how well they match "a cat on a sofa".

The index is one SQLite file (`PhotoIndex`), one row per picture: its path, size and
modification time (so a changed file is analysed again and an unchanged one never is), and
what the analyser found. It is built incrementally: each picture is committed as soon as it is
analysed, so an interrupted build resumes where it stopped, and pictures that disappeared are
dropped on the next update.

Analysers (`OfflineAnalyser` here; the open-vocabulary one in `vision.finder.open_vocab`):
- offline: the ImageNet classifier over the whole picture and a 2x2 grid of tiles at 160 px
  (5 crops, one batch); each class keeps its best probability over the crops (top 24 kept), so
  a small cat in a corner still counts. The text reader runs only when the classifier sees
  something that carries text (a sign, a book, a screen, a menu...), or always with
  `ocr="always"`: it costs 0.5-2 s a picture, ten times the classifier.
  A query scores the summed probability of the classes it means (`vision.finder.words`), plus
  one for each of its words found in the picture's text.
- open: one CLIP / SigLIP image embedding per picture (a float32 BLOB); a query scores the
  cosine similarity with the text's embedding. Brute force over numpy is exact and takes
  milliseconds for tens of thousands of photos, so no vector extension is needed.

Threads: a `PhotoIndex` belongs to the thread that opened it (SQLite's rule).
"""
from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Protocol

import numpy as np

from vision.finder.base import FinderOptions
from vision.finder.offline import tile_probabilities, tiles
from vision.finder.words import Vocabulary, phrase, singular

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
#: Classes that carry text: when one is among a picture's top labels, the text reader runs.
TEXT_CLASSES = frozenset({"traffic or street sign", "scoreboard", "book jacket", "dust jacket",
                          "comic book", "menu", "website", "envelope", "packet",
                          "product packet / packaging", "crossword", "monitor", "screen",
                          "television", "notebook computer", "laptop computer", "slide rule",
                          "digital clock", "street sign", "binder", "library", "bookcase",
                          "bookstore", "tobacco shop", "barbershop", "cinema", "home theater",
                          "poster", "carton", "mailbox", "pay phone", "vending machine"})
SCHEMA = """
CREATE TABLE IF NOT EXISTS photos (
    path TEXT PRIMARY KEY, mtime REAL NOT NULL, size INTEGER NOT NULL, analyser TEXT NOT NULL,
    width INTEGER, height INTEGER, labels TEXT, text TEXT, embedding BLOB, seconds REAL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""


@dataclass(frozen=True)
class Entry:
    """What the analyser found in one picture: `labels` {class index: best probability},
    `text` read text, `embedding` a unit vector (open analyser) or None."""

    labels: dict[int, float]
    text: str = ""
    embedding: np.ndarray | None = None
    width: int = 0
    height: int = 0


@dataclass(frozen=True)
class Hit:
    path: str
    score: float
    reason: str


class Analyser(Protocol):
    name: str

    def load(self) -> None: ...

    def analyse(self, image_bgr: np.ndarray) -> Entry: ...

    def rank(self, query: str, rows: list[tuple[str, Entry]]) -> list[Hit]: ...


class OfflineAnalyser:
    """Classifier labels over tiles, and text where the picture seems to carry some."""

    name = "offline"

    def __init__(self, ocr: str = "auto", classifier: Any = None, keep: int = 24) -> None:
        if ocr not in ("auto", "always", "never"):
            raise ValueError(f"ocr must be auto, always or never, not {ocr!r}")
        self.ocr, self.classifier, self.keep = ocr, classifier, keep
        self.options = FinderOptions(grid=2, size=160)
        self._reader = None
        self._vocabulary: Vocabulary | None = None

    def load(self) -> None:
        if self.classifier is None:
            from vision.perception.imagenet import Classifier

            self.classifier = Classifier()
        self._vocabulary = Vocabulary.default()
        if self.ocr != "never":
            from vision.perception.analyze import Perception

            self._reader = Perception(ocr=True, faces=False, persons=False, labels=False)
            self._reader.load()

    def analyse(self, image_bgr: np.ndarray) -> Entry:
        from vision.perception.analyze import fit

        image = fit(image_bgr, 1280)
        h, w = image.shape[:2]
        probs = tile_probabilities(self.classifier, image, tiles(w, h, self.options.grid),
                                   self.options.size).max(axis=0)
        top = np.argsort(probs)[::-1][:self.keep]
        labels = {int(i): round(float(probs[i]), 4) for i in top if probs[i] >= 0.005}
        text = ""
        names = {self.classifier.classes[i] for i in list(labels)[:5]}
        if self._reader is not None and (self.ocr == "always" or names & TEXT_CLASSES):
            text = self._reader.analyze(image).text
        return Entry(labels, text, None, w, h)

    def rank(self, query: str, rows: list[tuple[str, Entry]]) -> list[Hit]:
        assert self._vocabulary is not None and self.classifier is not None
        meaning = self._vocabulary.expand(query)
        words = [singular(w) for w in meaning.text if len(w) >= 2]
        hits = []
        for path, entry in rows:
            by_class = {i: p for i, p in entry.labels.items() if i in meaning.classes}
            score = min(1.0, sum(by_class.values()))
            reasons = []
            if by_class:
                best = max(by_class, key=by_class.get)
                reasons.append(f"looks like {self.classifier.classes[best]} "
                               f"({by_class[best]:.0%})")
            found = [w for w in words if w in {singular(t) for t in _words(entry.text)}]
            if found:
                score += len(found) / max(len(words), 1)
                reasons.append("text: " + ", ".join(f'"{w.upper()}"' for w in found))
            hits.append(Hit(path, score, "; ".join(reasons) or "no match"))
        return sorted(hits, key=lambda h: -h.score)


def _words(text: str) -> list[str]:
    import re

    return re.findall(r"[a-z0-9]+", text.lower())


def photos(folder: Path) -> list[Path]:
    """The pictures in `folder` and below, sorted, hidden folders skipped."""
    out = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out += [Path(root) / f for f in files if f.lower().endswith(IMAGE_SUFFIXES)]
    return sorted(out)


@dataclass(frozen=True)
class Item:
    """One picture to index: `key` (its resolved path, or "history:..."), `mtime` and `size`
    (a change in either means analyse again) and `load()` giving the BGR image (ValueError when
    it cannot be read)."""

    key: str
    mtime: float
    size: int
    load: Callable[[], np.ndarray]


@dataclass(frozen=True)
class UpdateReport:
    added: int
    changed: int
    removed: int
    unchanged: int
    failed: tuple[str, ...]
    seconds: float

    @property
    def analysed(self) -> int:
        return self.added + self.changed


class PhotoIndex:
    """The SQLite index of one folder's pictures for one analyser."""

    def __init__(self, path: Path, analyser: Analyser) -> None:
        self.path = Path(path)
        self.analyser = analyser
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(str(self.path))
            self.db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            from assistant.errors import GlimpseError

            raise GlimpseError(f"The search index {self.path} is damaged ({exc})",
                               "Delete it; the next search builds it again.") from exc

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "PhotoIndex":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM photos WHERE analyser = ?",
                                   (self.analyser.name,)).fetchone()[0])

    def update(self, folder: Path, on_progress: Callable[[int, int], None] | None = None,
               should_stop: Callable[[], bool] = lambda: False,
               read: Callable[[Path], np.ndarray] | None = None) -> UpdateReport:
        """Bring the index up to date with `folder`: analyse new and changed pictures (each
        committed at once), drop vanished ones. `on_progress(done, total)` after each picture;
        `should_stop()` ends early (what is committed stays). A picture that cannot be read is
        listed in `failed` and skipped."""
        read = read or _read
        items = []
        for file in photos(Path(folder)):
            stat = file.stat()
            items.append(Item(str(file.resolve()), stat.st_mtime, stat.st_size,
                              lambda file=file: read(file)))
        return self.update_items(items, str(Path(folder).resolve()), on_progress, should_stop)

    def update_items(self, items: list["Item"], scope: str,
                     on_progress: Callable[[int, int], None] | None = None,
                     should_stop: Callable[[], bool] = lambda: False) -> UpdateReport:
        """The same for any pictures: `items` are all the pictures whose key starts with
        `scope` (a folder, or "history:"); keys under `scope` not among them are dropped."""
        t0 = time.perf_counter()
        known = {row[0]: (row[1], row[2], row[3]) for row in self.db.execute(
            "SELECT path, mtime, size, analyser FROM photos")}
        present = {item.key for item in items}
        gone = [p for p in known if p not in present and p.startswith(scope)]
        self.db.executemany("DELETE FROM photos WHERE path = ?", [(p,) for p in gone])
        self.db.commit()
        todo = [item for item in items
                if known.get(item.key) != (item.mtime, item.size, self.analyser.name)]
        unchanged = len(items) - len(todo)
        added = changed = 0
        failed: list[str] = []
        for done, item in enumerate(todo, 1):
            if should_stop():
                break
            try:
                image = item.load()
            except ValueError as exc:
                failed.append(f"{item.key}: {exc}")
                continue
            t1 = time.perf_counter()
            entry = self.analyser.analyse(image)
            seconds = time.perf_counter() - t1
            blob = None if entry.embedding is None else \
                np.asarray(entry.embedding, np.float32).tobytes()
            self.db.execute("INSERT OR REPLACE INTO photos VALUES (?,?,?,?,?,?,?,?,?,?)",
                            (item.key, item.mtime, item.size, self.analyser.name, entry.width,
                             entry.height, json.dumps(entry.labels), entry.text, blob, seconds))
            self.db.commit()  # one picture at a time: an interruption loses at most one
            if item.key in known:
                changed += 1
            else:
                added += 1
            if on_progress is not None:
                on_progress(done, len(todo))
        return UpdateReport(added, changed, len(gone), unchanged, tuple(failed),
                            time.perf_counter() - t0)

    def entries(self, folder: Path | None = None) -> Iterator[tuple[str, Entry]]:
        prefix = str(Path(folder).resolve()) if folder else ""
        for path, labels, text, blob, w, h in self.db.execute(
                "SELECT path, labels, text, embedding, width, height FROM photos "
                "WHERE analyser = ? ORDER BY path", (self.analyser.name,)):
            if prefix and not path.startswith(prefix):
                continue
            embedding = None if blob is None else np.frombuffer(blob, np.float32)
            yield path, Entry({int(k): v for k, v in json.loads(labels or "{}").items()},
                              text or "", embedding, w or 0, h or 0)

    def search(self, query: str, top: int = 5, folder: Path | None = None,
               min_score: float = 0.02) -> list[Hit]:
        """The best `top` pictures for `query`, best first; pictures scoring under
        `min_score` do not match at all and are left out."""
        what = phrase(query) or query.strip()
        if not what:
            raise ValueError("empty query")
        hits = self.analyser.rank(what, list(self.entries(folder)))
        return [h for h in hits if h.score >= min_score][:top]


def _read(path: Path) -> np.ndarray:
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise ValueError("not a picture OpenCV can read")
    return image


def cache_dir(config: Any) -> Path:
    """Where search indexes live: `models.cache_dir` when set, else the user cache dir."""
    import platformdirs

    return Path(config.models.cache_dir or platformdirs.user_cache_dir("glimpse"))


def default_index_path(cache_dir: Path, folder: Path, analyser: str) -> Path:
    """One index file per folder and analyser, in the user cache dir."""
    import hashlib

    digest = hashlib.sha1(str(Path(folder).resolve()).encode()).hexdigest()[:16]
    return Path(cache_dir) / "search" / f"{digest}-{analyser}.sqlite"


def brute_force(analyser: Analyser, files: Iterable[Path], query: str, top: int = 5
                ) -> list[Hit]:
    """The baseline: analyse every picture for this one query, no index."""
    rows = [(str(Path(f).resolve()), analyser.analyse(_read(Path(f)))) for f in files]
    return analyser.rank(phrase(query) or query, rows)[:top]

