"""`glimpse doctor`: check this computer for what Glimpse needs, with a fix for each problem."""
from __future__ import annotations

import argparse

from assistant.errors import GlimpseError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="check this computer for what Glimpse needs, with a fix for each problem")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise GlimpseError("The doctor part of Glimpse is not built yet",
                       "This command arrives in a later version.")
