"""`glimpse history list [--json] | show N | export OUT.md|OUT.json | clear`: the saved turns.

The store is `assistant.history` in the user data dir. With `history.enabled = false` nothing
is read or created; the command says so.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from assistant.config import data_dir
from assistant.errors import GlimpseError
from assistant.history import HistoryError, HistoryStore, TurnRecord, store_path
from ui.cli.common import info, load_config, print_json

MODE_NAMES = {"ask": "Ask", "describe": "Describe scene", "read": "Read text"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("history", help="the turns saved on this computer: list, show, export, "
                                       "clear")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = actions.add_parser("list", help="one line per saved turn")
    ls.add_argument("--json", action="store_true", help="one JSON document on stdout")
    show = actions.add_parser("show", help="one turn in full")
    show.add_argument("turn", type=int, metavar="N", help="the turn number from `list`")
    export = actions.add_parser("export", help="write every saved turn to OUT.md or OUT.json")
    export.add_argument("out", metavar="OUT", help="a .md or .json file")
    actions.add_parser("clear", help="delete every saved turn, pictures included")
    p.set_defaults(func=run)


def _when(record: TurnRecord) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(record.started))


def _mode(record: TurnRecord) -> str:
    return MODE_NAMES.get(record.mode, record.mode)


def _open(args: argparse.Namespace) -> HistoryStore | None:
    config = load_config(args)
    # `clear` works with history off too: it removes whatever an earlier run kept.
    if not config.history.enabled and args.action != "clear":
        info("history is off (history.enabled = false): nothing is kept on this computer")
        return None
    path = store_path(data_dir())
    if not path.exists():
        return None
    store = HistoryStore(path, notify=info)
    if not store.available:
        raise GlimpseError("The history could not be opened", f"See the message above ({path})")
    return store


def run(args: argparse.Namespace) -> int:
    store = _open(args)
    try:
        records = store.turns() if store is not None else []
        if args.action == "list":
            if args.json:
                print_json({"glimpse_history": 1, "turns": [r.as_dict() for r in records]})
            elif not records:
                info("no saved turns")
            for r in ([] if args.json else records):
                text = r.question or f"({_mode(r).lower()})"
                answer = r.answer.replace("\n", " ")
                print(f"{r.turn_id:5d}  {_when(r)}  {_mode(r):<14}  {text[:40]:<40}  "
                      f"{answer[:60]}{' (stopped)' if r.cancelled else ''}")
            return 0
        if args.action == "show":
            record = store.get(args.turn) if store is not None else None
            if record is None:
                raise GlimpseError(f"There is no saved turn {args.turn}",
                                   "`glimpse history list` shows the saved turns")
            print(to_markdown([record]).split("\n", 2)[2].rstrip())
            return 0
        if args.action == "export":
            out = export(records, Path(args.out))
            info(f"{len(records)} turn(s) written to {out}")
            return 0
        if args.action == "clear":
            if store is not None:
                store.clear()
            info("history cleared")
            return 0
    except HistoryError as exc:
        raise GlimpseError(f"The history could not be read: {exc}",
                           "If it stays so, `glimpse history clear` starts a new one") from exc
    finally:
        if store is not None:
            store.close()
    return 2


def to_markdown(records: list[TurnRecord], image_dir: str | None = None) -> str:
    lines = ["# Glimpse history", ""]
    for r in records:
        lines += [f"## Turn {r.turn_id} ({_mode(r)}, {_when(r)})", ""]
        if image_dir and r.thumbnail:
            lines += [f"![Frame of turn {r.turn_id}]({image_dir}/turn-{r.turn_id}.jpg)", ""]
        if r.question:
            lines += [f"**You:** {r.question}", ""]
        if r.answer:
            lines += [f"**Glimpse:** {r.answer}", ""]
        if r.engine:
            lines += [f"*Answered by: {r.engine}*", ""]
        lines += [f"> {note}" + "\n" for note in r.notes]
        if r.timings_ms:
            timings = ", ".join(f"{k} {v:.0f} ms" for k, v in r.timings_ms.items())
            lines += [f"<small>Timings from release: {timings}</small>", ""]
        if r.cancelled:
            lines += ["*(stopped)*", ""]
    return "\n".join(lines).rstrip() + "\n"


def export(records: list[TurnRecord], path: Path) -> Path:
    """`.json` (no images) or `.md` (thumbnails as JPEGs in `<name>_frames/`)."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        path.write_text(json.dumps({"glimpse_history": 1, "turns": [r.as_dict() for r in records]},
                                   indent=2, ensure_ascii=False), encoding="utf-8")
        return path
    if suffix != ".md":
        raise GlimpseError(f"Cannot export to {path.name}", "Use a .md or .json file name")
    with_images = [r for r in records if r.thumbnail]
    images = path.with_name(path.stem + "_frames")
    if with_images:
        images.mkdir(exist_ok=True)
        for r in with_images:
            (images / f"turn-{r.turn_id}.jpg").write_bytes(r.thumbnail or b"")
    path.write_text(to_markdown(records, images.name if with_images else None), encoding="utf-8")
    return path
