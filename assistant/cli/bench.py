"""`glimpse bench`: benchmarks: asr, vlm, tts, e2e."""
from __future__ import annotations

import argparse

from assistant.errors import GlimpseError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="benchmarks: asr, vlm, tts, e2e")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise GlimpseError("The benchmark part of Glimpse is not built yet",
                       "This command arrives in a later version.")
