"""`glimpse install-desktop`: add Glimpse to the desktop's application menu."""
from __future__ import annotations

import argparse

from assistant.errors import GlimpseError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("install-desktop", help="add Glimpse to the desktop's application menu")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise GlimpseError("The desktop integration part of Glimpse is not built yet",
                       "This command arrives in a later version.")
