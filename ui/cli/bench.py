"""`glimpse bench NAME [--json OUT]`: benchmarks with the peer baseline in the same run
(asr, vlm, tts, e2e, read, find; claims: how often the offline path's yes, no and "I can't
tell" are right; soak: a long session, see `ui.bench.soak`). Each prints a
readable Markdown table and writes JSON whose top-level `summary` object holds the named figures.
The work is in `ui.bench.<name>`, whose `main(args, config)` gets the settings this command
loaded (the file, GLIMPSE_ variables, --set and --offline); this is the one module that imports
`ui.bench`."""
from __future__ import annotations

import argparse
import importlib
import importlib.util

from assistant.errors import GlimpseError
from ui.cli.common import load_config

BENCHES = ("asr", "vlm", "tts", "e2e", "read", "find", "claims", "soak")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="benchmarks against peers in the same run: asr, vlm, tts, "
                                     "e2e, read, find, claims; soak: a long session")
    p.add_argument("name", choices=BENCHES)
    p.add_argument("--json", metavar="OUT", help="write the results as JSON here")
    p.add_argument("--gpu", action="store_true", help="GPU mode: random weights in real "
                                                      "architecture sizes (needs CUDA)")
    p.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    # Options of the benchmark itself (e.g. --turns) are left over by the main parser and
    # handed to the benchmark as `args.rest`; `glimpse bench NAME -- --help` lists them.
    p.set_defaults(func=run, accepts_extra=True)


# What the `bench` extra adds; without them `glimpse bench` says how to install it.
BENCH_MODULES = {"matplotlib": "charts", "skimage": "the real photos", "jiwer": "word error rate"}


def missing_bench_extra() -> list[str]:
    """The modules of the `bench` extra that are not installed (import names)."""
    missing = []
    for name in BENCH_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except ValueError:  # a None entry in sys.modules: the import is blocked
            found = False
        if not found:
            missing.append(name)
    return missing


def run(args: argparse.Namespace) -> int:
    missing = missing_bench_extra()
    if missing:
        raise GlimpseError(
            f"Benchmarks need the bench extra ({', '.join(missing)} not installed)",
            'Install it with: pip install "glimpse-assistant[bench]" (from a source checkout: '
            "pip install -c constraints.txt -e \".[bench]\")", needs_action=True)
    # `bench e2e --gpu` is its own module: random weights in real dimensions on CUDA.
    name = "e2e_gpu" if args.name == "e2e" and getattr(args, "gpu", False) else args.name
    try:
        module = importlib.import_module(f"ui.bench.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"ui.bench.{name}":
            raise
        raise GlimpseError(f"The {args.name} benchmark is not built yet",
                           "It arrives in a later version.") from exc
    return int(module.main(args, load_config(args)) or 0)
