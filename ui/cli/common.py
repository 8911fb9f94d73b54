"""Helpers every command uses: loading the config, progress bars on stderr, JSON on stdout."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable

from assistant import config as cfg


def load_config(args: argparse.Namespace) -> cfg.Config:
    """The config for this run: file, then GLIMPSE_ environment, then --set, --offline and
    --no-history. A --config file that does not exist is an error, said plainly (a mistyped
    path must not quietly run on the defaults)."""
    overrides: dict[str, Any] = cfg.parse_overrides(getattr(args, "overrides", []) or [])
    if getattr(args, "offline", False):
        overrides["models.offline"] = "true"
    if getattr(args, "no_history", False):
        overrides["history.enabled"] = "false"
    path = Path(args.config) if getattr(args, "config", None) else None
    if path is not None and not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise cfg.ConfigError(f"The config file {path} {what}",
                              "Check the path, or leave out --config to use your own settings "
                              f"({cfg.config_path()})")
    return cfg.load(path, overrides=overrides)


def add_no_history(parser: argparse.ArgumentParser) -> None:
    """`--no-history` after the command too (`glimpse ask --no-history ...`); the top-level
    option stays in force when it is not given here."""
    parser.add_argument("--no-history", action="store_true", default=argparse.SUPPRESS,
                        help="keep nothing of this run in history")


def print_json(document: Any) -> None:
    json.dump(document, sys.stdout, indent=2, default=str, ensure_ascii=False)
    sys.stdout.write("\n")


def progress_bar(description: str) -> tuple[Callable[[int, int | None], None], Callable[[], None]]:
    """An `on_progress(done, total)` callback drawing a tqdm bar on stderr, and a closer."""
    from tqdm import tqdm

    bar = tqdm(desc=description, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr,
               leave=False, disable=None)

    def on_progress(done: int, total: int | None) -> None:
        if total and bar.total != total:
            bar.total = total
        bar.n = done
        bar.refresh()

    return on_progress, bar.close


def info(message: str) -> None:
    print(f"glimpse: {message}", file=sys.stderr)
