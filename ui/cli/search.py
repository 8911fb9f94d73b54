"""`glimpse search`: rank the photos of a folder by how well they match a text.

    glimpse search "a cat on a sofa" ~/Pictures
    glimpse search "exit sign" . --top 3 --json
    glimpse search "cup"            (no folder: the conversation history's turns)

The first search of a folder builds its index (a progress bar on stderr); later ones only look
at new and changed pictures. Ctrl+C while indexing keeps what is done: the next search resumes.
Results go to stdout, one per line: score, path (or turn), and why it matched. Exit status 3
when nothing matches.

Without a folder it searches the saved conversation (`glimpse history`): each turn's picture,
and what was asked and answered (`vision.search.history_index`).
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from assistant.errors import GlimpseError
from ui.cli.common import info, load_config, print_json

NOT_FOUND = 3


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help="find photos in a folder by what they show",
                       description="Rank the photos of a folder by how well they match a text.")
    p.add_argument("query", help='what the photo shows: "a cat", "exit sign", "taxi"')
    p.add_argument("folder", nargs="?", default=None,
                   help="folder of photos (default: the conversation history)")
    p.add_argument("--top", type=int, default=5, metavar="N", help="how many results (default 5)")
    p.add_argument("--index", metavar="FILE", help="the index file (default: one per folder in "
                                                   "the user cache dir)")
    p.add_argument("--ocr", choices=("auto", "always", "never"), default="auto",
                   help="read text in photos: auto (when a photo looks like it carries text), "
                        "always (slow) or never")
    p.add_argument("--engine", choices=("auto", "offline", "open"), default=None,
                   help="which analyser (default: finder.engine)")
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.set_defaults(func=run)


def analyser_for(config, engine: str | None, ocr: str):
    from vision.search.choice import search_analyser as choose

    analyser, why = choose(config, engine, ocr)
    if analyser.name == "offline" and (engine or config.finder.engine) == "auto":
        info(why)
    return analyser


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from vision.search.photos import PhotoIndex, cache_dir, default_index_path

    if args.top < 1:
        raise GlimpseError("--top must be at least 1", "For example: --top 5")
    config = load_config(args)
    if args.folder is None:
        records = _history(config)
        folder = None
    else:
        folder = Path(args.folder).expanduser()
        if not folder.is_dir():
            raise GlimpseError(f"{folder} is not a folder", "Give the folder of photos to search.")
    analyser = analyser_for(config, args.engine, args.ocr)
    cache = cache_dir(config)
    if folder is None:
        from vision.search import history_index as history_search

        index_path = Path(args.index) if args.index else \
            history_search.index_path(cache, analyser.name)
    else:
        index_path = Path(args.index) if args.index else \
            default_index_path(cache, folder, analyser.name)
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    analyser.load()
    bar = tqdm(desc="indexing photos", unit="photo", file=sys.stderr, leave=False, disable=None)

    def on_progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        with PhotoIndex(index_path, analyser) as index:
            if folder is None:
                return _search_history(args, index, records, index_path, bar, on_progress, stop)
            report = index.update(folder, on_progress=on_progress, should_stop=stop.is_set)
            bar.close()
            for failure in report.failed:
                info(f"skipped {failure}")
            if report.analysed:
                info(f"indexed {report.analysed} photo(s) in {report.seconds:.1f} s "
                     f"({report.analysed / max(report.seconds, 1e-9):.1f} photos/s)")
            if stop.is_set():
                info("indexing stopped; the next search goes on from here")
                return 130
            hits = index.search(args.query, args.top, folder)
    finally:
        signal.signal(signal.SIGINT, previous)
    if args.json:
        print_json({"query": args.query, "folder": str(folder), "index": str(index_path),
                    "analyser": analyser.name,
                    "results": [{"path": h.path, "score": round(h.score, 4), "reason": h.reason}
                                for h in hits]})
    elif not hits:
        print(f"No photo in {folder} matches {args.query!r}.")
    else:
        for hit in hits:
            print(f"{hit.score:6.3f}  {hit.path}  ({hit.reason})")
    return 0 if hits else NOT_FOUND


def _history(config) -> list:
    """Every saved turn, oldest first; a clear error when there is no history to search."""
    from assistant.config import data_dir
    from assistant.history import HistoryStore, store_path

    if not config.history.enabled:
        raise GlimpseError("History is off (history.enabled = false), so there is no "
                           "conversation to search", "Give a folder of photos to search.")
    path = store_path(data_dir())
    if not path.exists():
        raise GlimpseError("There is no saved conversation to search yet",
                           "Ask Glimpse something first, or give a folder of photos.")
    store = HistoryStore(path, notify=info)
    try:
        return store.turns()
    finally:
        store.close()


def _search_history(args, index, records, index_path, bar, on_progress, stop) -> int:
    import time

    from vision.search import history_index as history_search

    report = history_search.update(index, records, on_progress, stop.is_set)
    bar.close()
    for failure in report.failed:
        info(f"skipped {failure}")
    if report.analysed:
        info(f"indexed {report.analysed} turn picture(s) in {report.seconds:.1f} s")
    if stop.is_set():
        info("indexing stopped; the next search goes on from here")
        return 130
    hits = history_search.search(index, records, args.query, args.top)

    def when(record) -> str:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(record.started))

    if args.json:
        print_json({"query": args.query, "history": True, "index": str(index_path),
                    "analyser": index.analyser.name,
                    "results": [{"turn": h.record.turn_id, "started": h.record.started,
                                 "question": h.record.question or h.record.transcript,
                                 "answer": h.record.answer, "score": round(h.score, 4),
                                 "reason": h.reason} for h in hits]})
    elif not hits:
        print(f"No turn in the conversation history matches {args.query!r}.")
    else:
        for hit in hits:
            asked = hit.record.question or hit.record.transcript or f"({hit.record.mode})"
            print(f"{hit.score:6.3f}  turn {hit.record.turn_id}, {when(hit.record)}: {asked}  "
                  f"({hit.reason})")
    return 0 if hits else NOT_FOUND
