"""`glimpse install-desktop` / `glimpse uninstall-desktop`: the application menu entry (Linux)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ui.cli.common import info, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("install-desktop",
                       help="add Glimpse to the desktop's application menu (with its icon)")
    p.add_argument("--data-dir", metavar="DIR",
                   help="XDG data folder to write to (default: $XDG_DATA_HOME or ~/.local/share)")
    p.add_argument("--json", action="store_true", help="print the files written as JSON")
    p.set_defaults(func=run_install)

    p = sub.add_parser("uninstall-desktop",
                       help="remove Glimpse from the application menu (keeps settings and models)")
    p.add_argument("--data-dir", metavar="DIR",
                   help="XDG data folder to remove from (default: $XDG_DATA_HOME or "
                        "~/.local/share)")
    p.add_argument("--json", action="store_true", help="print the files removed as JSON")
    p.set_defaults(func=run_uninstall)


def _data_home(args: argparse.Namespace) -> Path:
    from ui import desktop

    return Path(args.data_dir).expanduser().resolve() if args.data_dir else \
        desktop.default_data_home()


def _report(files: list[Path], as_json: bool, key: str) -> None:
    if as_json:
        print_json({key: [str(f) for f in files]})
    else:
        for f in files:
            print(f)


def run_install(args: argparse.Namespace) -> int:
    from assistant.config import config_dir
    from ui import desktop
    from ui.privacy import first_run_notice, privacy_note

    if not sys.platform.startswith("linux"):
        info("install-desktop writes freedesktop menu entries; on this system it has no effect "
             "on the menu, but the files are written anyway")
    command = desktop.glimpse_command()
    files = desktop.install(_data_home(args), command)
    _report(files, args.json, "installed")
    info(f"added Glimpse to the application menu; it starts: {' '.join(command)}")
    first_run_notice(config_dir())  # the note is printed below; record it as shown
    print(privacy_note(), file=sys.stderr)
    return 0


def run_uninstall(args: argparse.Namespace) -> int:
    from ui import desktop

    files = desktop.uninstall(_data_home(args))
    _report(files, args.json, "removed")
    info("removed Glimpse from the application menu" if files else
         "Glimpse was not in the application menu here; nothing to remove")
    return 0
