"""`glimpse say`: speak text aloud or into a WAV file."""
from __future__ import annotations

import argparse

from assistant.errors import GlimpseError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("say", help="speak text aloud or into a WAV file")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise GlimpseError("The speech synthesis part of Glimpse is not built yet",
                       "This command arrives in a later version.")
