"""`glimpse` / `glimpse gui`: open the window."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from ui.cli.common import load_config


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gui", help="open the Glimpse window (the default)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(args)
    from ui.window.app import run_app  # PySide6 is imported only here

    path = Path(args.config) if getattr(args, "config", None) else None
    end_process(run_app(config, config_path=path))
    return 0  # not reached


def end_process(status: int) -> None:
    """End the process at once with `status`, once the window has closed.

    Everything that must outlive the window is done by then: the pipeline is stopped, history
    has committed every turn, settings were saved when they changed. What the interpreter would
    do next takes about a second on a 2-core machine (unloading torch, ONNX Runtime and Qt), can
    abort with "terminate called without an active exception" when a model was still loading
    on a stage thread, and prints the bindings' leak reports on the terminal: a user who quit
    wants the process gone. Logs and the standard streams are flushed first."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed terminal: nothing left to flush to
    os._exit(status)
