"""`glimpse find`: is a described thing in view, and where? Once, or watching until it appears.

    glimpse find "is my mug in view?" --image desk.jpg
    glimpse find "exit sign" --camera 0
    glimpse find "tell me when you see my keys" --camera 0 --watch
    glimpse find cat --image cat.jpg --json

The answer goes to stdout (or one JSON document with --json); notes go to stderr. Exit status:
0 found, 3 not found (or a watch that timed out), 1 bad input with one clear line. The answer is
kept in history like the window's turns (`ui.cli.record`; `--no-history` leaves the run out).
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading
import time

from assistant.errors import GlimpseError
from ui.cli.common import add_no_history, info, load_config, print_json
from ui.cli.record import keep_turn
from ui.cli.describe import grab_frame

NOT_FOUND = 3


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("find", help="is something in view, and where? (--watch: until it is)",
                       description="Find one described thing in a picture or a camera's view.")
    p.add_argument("query", help='what to find: "mug", "the exit sign", or a question such as '
                                 '"is my mug in view?"')
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--image", metavar="FILE", help="a picture file")
    src.add_argument("--camera", metavar="SOURCE", help="camera index, video file, stream URL or "
                                                        "folder of pictures")
    p.add_argument("--watch", action="store_true", help="keep looking at the camera until it "
                                                       "appears (Ctrl+C stops)")
    p.add_argument("--timeout", type=float, metavar="S", help="watch: give up after S seconds "
                                                              "(default: finder.watch_timeout_s)")
    p.add_argument("--engine", choices=("auto", "offline", "open"), default=None,
                   help="which finder (default: finder.engine)")
    p.add_argument("--wait", type=float, default=10.0, metavar="S",
                   help="seconds to wait for the camera's first picture (default 10)")
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    add_no_history(p)
    p.set_defaults(func=run)


def query_of(text: str) -> str:
    """The object of a question ("is my mug in view?" -> "mug"), or the phrase itself."""
    from vision.finder.words import phrase, target

    what = target(text) or phrase(text)
    if not what:
        raise GlimpseError(f"There is nothing to find in {text!r}",
                           'Say what to look for, e.g. glimpse find "mug" --image desk.jpg')
    return what


def run(args: argparse.Namespace) -> int:
    from vision.finder import choice as finders
    from vision.finder.words import wants_watch

    config = load_config(args)
    if args.engine:
        config = config.with_value("finder.engine", args.engine)
    query = query_of(args.query)
    watch = args.watch or (wants_watch(args.query) and args.camera is not None)
    if watch and args.image:
        raise GlimpseError("--watch needs a camera", "Use --camera SOURCE with --watch.")
    engine, why = finders.choose(config)
    if config.finder.engine == "auto" and engine == "offline":
        info(why)
    finder = finders.from_config(config, watch=watch)
    t0 = time.perf_counter()
    finder.load()
    for note in getattr(finder, "notes", ()):
        info(note)
    load_s = time.perf_counter() - t0
    if watch:
        return _watch(args, config, finder, query, load_s)
    frame = grab_frame(args, config, image=args.image)  # find takes one picture, not a list
    t0 = time.perf_counter()
    result = finder.find(frame.image, query)
    seconds = time.perf_counter() - t0
    _print(args, result, {"source": frame.source, "seconds": round(seconds, 3),
                          "load_seconds": round(load_s, 3)})
    _keep(config, args.query, result.text(), engine, frame.image)
    return 0 if result.found else NOT_FOUND


def _keep(config, question: str, answer: str, engine: str, image) -> None:
    kept = keep_turn(config, "find", mode="ask", question=question, answer=answer,
                     engine=f"finder:{engine}", image=image)
    if kept:
        info(f"kept in history as turn {kept}")


def _print(args: argparse.Namespace, result, extra: dict) -> None:
    if args.json:
        print_json({**result.as_dict(), **extra})
    else:
        print(result.text())


def _watch(args, config, finder, query: str, load_s: float) -> int:
    from vision.camera.capture import OpenCVCamera
    from vision.finder.watch import Watch, WatchOptions
    from vision.finder.words import with_article

    timeout = args.timeout if args.timeout is not None else config.finder.watch_timeout_s
    camera = OpenCVCamera(args.camera, config.camera.width, config.camera.height,
                          stall_s=min(max(args.wait, 1.0), 5.0))
    camera.open()
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        if camera.wait_frame(args.wait) is None:
            raise GlimpseError(f"No picture came from the camera {args.camera} within "
                               f"{args.wait:g} s" + (f" ({camera.error})" if camera.error else ""),
                               "Check that the camera or stream is running.")
        info(f"watching for {query} (up to {timeout:g} s; Ctrl+C stops)")
        watch = Watch(finder, camera, query, WatchOptions(config.finder.watch_fps, timeout))
        sighting = watch.run(stop)
    finally:
        signal.signal(signal.SIGINT, previous)
        last = camera.latest()  # the picture history keeps with the answer
        camera.close()
    image = last.image if last is not None else None
    if sighting is None:
        said = "Stopped watching." if stop.is_set() else \
            f"I didn't see {with_article(query)} in {timeout:g} seconds."
        if args.json:
            print_json({"query": query, "found": False, "answer": said, "frames": watch.frames})
        else:
            print(said)
        _keep(config, args.query, said, "watch", image)
        return NOT_FOUND
    _print(args, sighting.result, {"source": args.camera, "frames": sighting.frames,
                                   "latency_s": round(sighting.latency_s, 3),
                                   "load_seconds": round(load_s, 3)})
    sys.stdout.flush()
    _keep(config, args.query, sighting.result.text(), "watch", image)
    return 0


