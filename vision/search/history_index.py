"""Search the conversation history by what was seen and said: "the cup", "exit sign".

Each saved turn has a small picture of its frame (`assistant.history`, 160 px JPEG). Those
pictures go into the same kind of index as a photo folder (`vision.search.photos.PhotoIndex`, keys
"history:<session>:<turn>"), analysed once and kept up to date as turns are added or deleted.
A turn scores what its picture scores for the query (classifier labels over tiles, text read in
it, or the CLIP embedding with the open analyser) plus one for each query word that the turn's
question, transcript or answer contains, so "cup" finds the turn whose picture shows one and the
turn where the answer said "I see a cup".

Threads: like `PhotoIndex`, an index belongs to the thread that opened it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from vision.finder.words import phrase, singular
from vision.search.photos import Item, PhotoIndex, UpdateReport

SCOPE = "history:"


def index_path(cache_dir: Path, analyser: str) -> Path:
    """The history's index file, in the user cache dir (it can always be built again)."""
    return Path(cache_dir) / "search" / f"history-{analyser}.sqlite"


def _key(record: Any) -> str:
    return f"{SCOPE}{record.session}:{record.turn_id}"


def _decode(jpeg: bytes) -> np.ndarray:
    import cv2

    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise ValueError("the saved picture cannot be decoded")
    return image


def items(records: Iterable[Any]) -> list[Item]:
    """The pictures of `records` (history.TurnRecord) to index; turns without one are left out."""
    return [Item(_key(r), float(r.started), len(r.thumbnail),
                 lambda jpeg=r.thumbnail: _decode(jpeg))
            for r in records if r.thumbnail]


def update(index: PhotoIndex, records: list[Any],
           on_progress: Callable[[int, int], None] | None = None,
           should_stop: Callable[[], bool] = lambda: False) -> UpdateReport:
    """Analyse the turns' new pictures; forget those of deleted turns."""
    return index.update_items(items(records), SCOPE, on_progress, should_stop)


@dataclass(frozen=True)
class HistoryHit:
    record: Any  # history.TurnRecord
    score: float
    reason: str


def _words(text: str) -> set[str]:
    return {singular(w) for w in re.findall(r"[a-z0-9]+", (text or "").lower())}


def search(index: PhotoIndex, records: list[Any], query: str, top: int = 5,
           min_score: float = 0.05) -> list[HistoryHit]:
    """The `top` turns that best match `query`, best first (`update` the index first). The
    pictures are small (160 px), so a picture alone must score `min_score` (5%, more than a
    folder's full-size photos need) to count."""
    what = phrase(query) or query.strip()
    if not what:
        raise ValueError("empty query")
    by_key = {_key(r): r for r in records}
    rows = [(key, entry) for key, entry in index.entries() if key in by_key]
    pictures = {hit.path: hit for hit in index.analyser.rank(what, rows)}
    words = [singular(w) for w in what.split() if len(w) >= 2]
    hits = []
    for key, record in by_key.items():
        picture = pictures.get(key)
        score = picture.score if picture is not None and picture.score >= min_score else 0.0
        reasons = [f"the picture {picture.reason}"] if score else []
        said = _words(" ".join((record.question, record.transcript, record.answer)))
        found = [w for w in words if w in said]
        if found:
            score += len(found) / max(len(words), 1)
            reasons.append("the turn mentions " + ", ".join(f'"{w}"' for w in found))
        if score >= min_score:
            hits.append(HistoryHit(record, score, "; ".join(reasons)))
    hits.sort(key=lambda h: (-h.score, -h.record.started))
    return hits[:top]


def search_saved(config: Any, history_file: Path, cache_dir: Path, query: str, top: int = 8,
                 on_progress: Callable[[int, int], None] | None = None,
                 should_stop: Callable[[], bool] = lambda: False) -> list[HistoryHit]:
    """Everything a search box needs, on one (worker) thread: read the saved turns from
    `history_file`, bring the index in `cache_dir` up to date, rank. Empty when there is no
    history yet."""
    from assistant.history import HistoryStore
    from vision.search.choice import search_analyser

    if not Path(history_file).exists():
        return []
    store = HistoryStore(Path(history_file))
    try:
        records = store.turns()
    finally:
        store.close()
    analyser, _why = search_analyser(config)
    analyser.load()
    with PhotoIndex(index_path(cache_dir, analyser.name), analyser) as index:
        update(index, records, on_progress, should_stop)
        return search(index, records, query, top)
