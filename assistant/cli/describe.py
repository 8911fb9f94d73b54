"""`glimpse describe`: describe an image or a camera's view."""
from __future__ import annotations

import argparse

from assistant.errors import GlimpseError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("describe", help="describe an image or a camera's view")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise GlimpseError("The vision part of Glimpse is not built yet",
                       "This command arrives in a later version.")
