"""The `glimpse` command.

Output discipline: stdout carries only results (text, or one JSON document with --json);
progress, logs, warnings and timings go to stderr. Exit codes: 0 success, 2 usage error,
1 failure with a one-line reason (a traceback only with --debug), 130 interrupted.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from assistant import __version__
from assistant.errors import GlimpseError, describe_exception

# Each module has register(subparsers) and sets `func(args) -> int` on its parser.
COMMANDS = ("gui", "ask", "describe", "find", "search", "transcribe", "say", "devices", "models",
            "doctor", "bench", "config_cmd", "desktop", "history")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with `only` (a command's module name) just that command is
    registered, so running one command does not import the others' modules (cold start)."""
    parser = argparse.ArgumentParser(
        prog="glimpse",
        description="Glimpse: hold a key, ask about what the camera sees, hear the answer. "
                    "Runs entirely on this computer. With no command, opens the window.")
    parser.add_argument("--version", action="version", version=f"glimpse {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser.add_argument("--config", metavar="FILE", help="use this config.toml instead of the "
                                                         "one in the user config dir")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="SECTION.KEY=VALUE", help="override a setting for this run")
    parser.add_argument("--offline", action="store_true", help="never use the network")
    parser.add_argument("--no-history", action="store_true",
                        help="keep nothing of this run in history (history.enabled, for one run)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS if only is None else (only,):
        importlib.import_module(f"ui.cli.{name}").register(sub)
    return parser


# Commands whose parser name differs from their module's.
_MODULE_OF = {"config": "config_cmd", "install-desktop": "desktop", "uninstall-desktop": "desktop"}


def _command_module(argv: list[str]) -> str | None:
    """The module of the command `argv` runs, when it can be told without the full parser (the
    first word that is not an option, and no top-level --help or --version before it)."""
    skip_value = {"--config", "--set"}
    i = 0
    while i < len(argv):
        word = argv[i]
        if word in ("-h", "--help", "--version"):
            return None
        if word in skip_value:
            i += 2
            continue
        if not word.startswith("-"):
            module = _MODULE_OF.get(word, word)
            return module if module in COMMANDS else None
        i += 1
    return None


def parse(argv: list[str]) -> argparse.Namespace:
    """The command line as a namespace. With no command, `gui`: the global options
    (`glimpse --offline --set ...`) then apply to the window."""
    parser = build_parser(_command_module(argv))
    args, extra = parser.parse_known_args(argv)
    if args.command is None and not extra:
        args, extra = parser.parse_known_args([*argv, "gui"])
    if extra and not getattr(args, "accepts_extra", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.rest = [a for a in extra if a != "--"]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else list(argv))
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="glimpse: %(levelname)s: %(message)s", stream=sys.stderr)
    if not args.debug:
        from ui.cli.quiet import quiet_libraries

        quiet_libraries()
    if args.command not in ("install-desktop", "uninstall-desktop"):  # those print it themselves
        from assistant.config import config_dir
        from ui.privacy import first_run_notice

        note = first_run_notice(config_dir())
        if note:
            print(note, file=sys.stderr)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("glimpse: interrupted", file=sys.stderr)
        return 130
    except GlimpseError as exc:
        if args.debug:
            raise
        print(f"glimpse: {exc.message}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - one line for the user, traceback with --debug
        if args.debug:
            raise
        message, _ = describe_exception(exc)
        print(f"glimpse: {message}", file=sys.stderr)
        return 1
