"""`glimpse ask`: one full turn, headless: spoken question (and a frame) in, transcript and answer out."""
from __future__ import annotations

import argparse

from assistant.errors import GlimpseError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ask", help="one full turn, headless: spoken question (and a frame) in, transcript and answer out")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise GlimpseError("The answer engine part of Glimpse is not built yet",
                       "This command arrives in a later version.")
