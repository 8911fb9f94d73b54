"""`glimpse` / `glimpse gui`: open the window."""
from __future__ import annotations

import argparse
from pathlib import Path

from ui.cli.common import load_config


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gui", help="open the Glimpse window (the default)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(args)
    from ui.window.app import run_app  # PySide6 is imported only here

    path = Path(args.config) if getattr(args, "config", None) else None
    return run_app(config, config_path=path)
