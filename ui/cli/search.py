"""`glimpse search`: rank the photos of a folder by how well they match a text.

    glimpse search "a cat on a sofa" ~/Pictures
    glimpse search "exit sign" . --top 3 --json

The first search of a folder builds its index (a progress bar on stderr); later ones only look
at new and changed pictures. Ctrl+C while indexing keeps what is done: the next search resumes.
Results go to stdout, one per line: score, path, and why it matched. Exit status 3 when no
photo matches.
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
    p.add_argument("folder", nargs="?", default=".", help="folder of photos (default: here)")
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


def analyser_for(config, engine: str, ocr: str):
    from vision import finder_engines as finder

    chosen, why = finder.choose(config.with_value("finder.engine", engine) if engine else config)
    if chosen == "open":
        from vision.finder_open import ClipAnalyser

        return ClipAnalyser.from_config(config)
    if (engine or config.finder.engine) == "auto":
        info(why)
    from vision.search import OfflineAnalyser

    return OfflineAnalyser(ocr=ocr)


def run(args: argparse.Namespace) -> int:
    import platformdirs

    from tqdm import tqdm

    from vision.search import PhotoIndex, default_index_path

    folder = Path(args.folder).expanduser()
    if not folder.is_dir():
        raise GlimpseError(f"{folder} is not a folder", "Give the folder of photos to search.")
    if args.top < 1:
        raise GlimpseError("--top must be at least 1", "For example: --top 5")
    config = load_config(args)
    analyser = analyser_for(config, args.engine, args.ocr)
    cache = Path(config.models.cache_dir or platformdirs.user_cache_dir("glimpse"))
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
