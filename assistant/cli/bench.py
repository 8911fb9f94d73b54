"""`glimpse bench asr | vlm | tts | e2e [--json OUT]`: benchmarks with the peer baseline in the
same run. Each prints a readable Markdown table and writes JSON whose top-level `summary`
object holds the named figures. The work is in `assistant.bench.<name>`."""
from __future__ import annotations

import argparse
import importlib

from assistant.errors import GlimpseError

BENCHES = ("asr", "vlm", "tts", "e2e")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="benchmarks against peers in the same run: asr, vlm, tts, e2e")
    p.add_argument("name", choices=BENCHES)
    p.add_argument("--json", metavar="OUT", help="write the results as JSON here")
    p.add_argument("--gpu", action="store_true", help="GPU mode: random weights in real "
                                                      "architecture sizes (needs CUDA)")
    p.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    # Options of the benchmark itself (e.g. --turns) are left over by the main parser and
    # handed to the benchmark as `args.rest`; `glimpse bench NAME -- --help` lists them.
    p.set_defaults(func=run, accepts_extra=True)


def run(args: argparse.Namespace) -> int:
    try:
        module = importlib.import_module(f"assistant.bench.{args.name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"assistant.bench.{args.name}":
            raise
        raise GlimpseError(f"The {args.name} benchmark is not built yet",
                           "It arrives in a later version.") from exc
    return int(module.main(args) or 0)
