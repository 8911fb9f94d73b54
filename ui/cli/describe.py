"""`glimpse describe`: describe a picture or what a camera sees, once, and exit.

    glimpse describe --image sign.jpg                 # the scene, text read out exactly
    glimpse describe --image page.jpg --mode read     # only the text, verbatim, in reading order
    glimpse describe --mode read --image a.jpg b.png  # several pictures in one call
    glimpse describe --camera 0 --mode brief --say out.wav
    glimpse describe --camera udp://127.0.0.1:23000 --json

The answer goes to stdout (or one JSON document with --json); notes go to stderr.
With no vision-language model installed (or `--engine describer`), the offline describer answers
from local perception (text, people, an object guess, picture quality) and says only that.
Each answer is kept in history like the window's turns (`ui.cli.record`; `--no-history` leaves
the run out).
"""
from __future__ import annotations

import argparse
import sys
import time

from assistant.errors import DeviceError, GlimpseError
from assistant.events import Frame, Mode
from ui.cli.common import add_no_history, info, load_config, print_json
from ui.cli.record import keep_turn

MODES = {
    # name: (pipeline mode, verbosity or None for the config's)
    "scene": (Mode.DESCRIBE, None),
    "brief": (Mode.DESCRIBE, "brief"),
    "detailed": (Mode.DESCRIBE, "detailed"),
    "read": (Mode.READ, None),
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("describe", help="describe a picture or what a camera sees",
                       description="Describe a picture or a camera's view once, and exit.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--image", metavar="FILE", nargs="+",
                     help="one or more picture files (JPEG, PNG, ...)")
    src.add_argument("--camera", metavar="SOURCE", help="camera index (0), video file, stream "
                                                        "URL or folder of pictures")
    p.add_argument("--mode", choices=tuple(MODES), default="scene",
                   help="scene: describe (the config's verbosity); brief/detailed: shorter or "
                        "longer; read: the text only, verbatim (default: scene)")
    p.add_argument("--question", "-q", default="", help="ask this about the picture instead")
    p.add_argument("--engine", choices=("auto", "describer"), default="auto",
                   help="auto: the configured answer engine; describer: local perception only")
    p.add_argument("--say", metavar="OUT.wav", help="also speak the answer into this WAV file")
    p.add_argument("--wait", type=float, default=10.0, metavar="S",
                   help="seconds to wait for the camera's first picture (default 10)")
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    add_no_history(p)
    p.set_defaults(func=run)


def grab_frame(args: argparse.Namespace, config, image: str | None = None) -> Frame:
    """The picture to describe: the image file, or the first frame of the camera source."""
    from vision.camera.capture import ImageCamera, OpenCVCamera, source_kind

    if image is None and args.image:
        image = args.image[0]
    if image:
        camera = ImageCamera(image, config.camera.width, config.camera.height)
        camera.open()
        frame = camera.latest()
        assert frame is not None  # open() raised otherwise
        return frame
    source = args.camera
    if source_kind(source) == "image":
        camera = ImageCamera(source, config.camera.width, config.camera.height)
        camera.open()
        return camera.latest()
    cam = OpenCVCamera(source, config.camera.width, config.camera.height,
                       stall_s=min(max(args.wait, 1.0), 5.0))
    cam.open()
    try:
        frame = cam.wait_frame(args.wait)
        if frame is None:
            why = f" ({cam.error})" if cam.error else ""
            raise DeviceError(f"No picture came from the camera {source} within "
                              f"{args.wait:g} s{why}",
                              "Check that the camera or stream is running, or wait longer "
                              "with --wait.")
        # A few frames in, auto-exposure has settled; take the newest.
        return cam.latest() or frame
    finally:
        cam.close()


def make_engine(args: argparse.Namespace, config, verbosity: str):
    """The answer engine: the configured one, or the describer when none is installed."""
    from vision.answer.describer import Describer

    def describer():
        return Describer(verbosity=verbosity, hints=config.scene.aiming_hints)

    if args.engine == "describer" or config.vlm.backend == "describer":
        return describer()
    try:
        from vision.answer import choice as engines
    except ImportError:
        info("no vision-language model engine is installed; using the offline describer "
             "(text, people and objects it can recognize, nothing more).")
        return describer()
    engine = engines.from_config(config)
    if engine.name == "describer":
        return describer()  # with this command's verbosity
    return engine


def synthesize(text: str, path: str, config) -> float:
    """Speak `text` into a WAV file with the configured voice; seconds of audio written."""
    import numpy as np
    import soundfile

    from assistant.ports import TtsOptions
    from ui.bootstrap import build

    tts = build("tts", config)
    tts.load()
    pieces, rate = [], 22050
    for audio in tts.synthesize(text, TtsOptions(voice=config.tts.voice, rate=config.tts.rate)):
        pieces.append(np.asarray(audio.samples, dtype=np.float32))
        rate = audio.sample_rate
    samples = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    try:
        soundfile.write(path, samples, rate)
    except (OSError, RuntimeError) as exc:
        raise GlimpseError(f"Could not write {path} ({exc})",
                           "Check that the folder exists and is writable.") from exc
    return len(samples) / rate


def read_pictures(args: argparse.Namespace, config) -> int:
    """Read mode without a VLM: only the reader is loaded (no face, people or object models).

    The camera's frame size cap is not applied to files: small print in a big photo is read at
    up to the reader's own limit."""
    from vision.camera.capture import read_image, source_kind
    from vision.reading.reader import from_config as reading_from_config

    t0 = time.perf_counter()
    reader = reading_from_config(config)
    reader.load()
    if reader.note:
        info(reader.note)
    sources = args.image or [args.camera]
    documents = []
    for index, source in enumerate(sources):
        if args.image or source_kind(source) == "image":
            frame_image = read_image(source)
        else:
            frame_image = grab_frame(args, config).image
        t1 = time.perf_counter()
        result = reader.read(frame_image)
        pieces = result.sentences(config.scene.aiming_hints)
        text = "\n".join(pieces)
        if not args.json:
            if len(sources) > 1:
                sys.stdout.write(f"{'' if index == 0 else chr(10)}[{source}]\n")
            sys.stdout.write(text + "\n")
            sys.stdout.flush()
        kept = keep_turn(config, "describe", mode="read", question="", answer=text,
                         engine="reader:" + result.engine, image=frame_image)
        if kept:
            info(f"kept in history as turn {kept}")
        documents.append({"text": text, "mode": "read", "engine": "reader:" + result.engine,
                          "source": str(source), "size": [int(frame_image.shape[1]),
                                                          int(frame_image.shape[0])],
                          "seconds": round(time.perf_counter() - t1, 3),
                          "reading": result.as_dict()})
    if args.say:
        spoken = synthesize("\n".join(d["text"] for d in documents), args.say, config)
        info(f"spoke {spoken:.1f} s of audio into {args.say}")
    if args.json:
        for doc in documents:
            doc["total_seconds"] = round(time.perf_counter() - t0, 3)
        print_json(documents[0] if len(documents) == 1 else documents)
    return 0


def run(args: argparse.Namespace) -> int:

    config = load_config(args)
    mode, verbosity = MODES[args.mode]
    verbosity = verbosity or config.scene.verbosity
    if args.question:
        mode = Mode.ASK
    if mode == Mode.READ and _no_vlm(args, config):
        return read_pictures(args, config)
    if args.image and len(args.image) > 1:
        status = 0
        for image in args.image:
            sys.stdout.write(f"[{image}]\n")
            status |= run_one(args, config, mode, verbosity, image)
        return status
    return run_one(args, config, mode, verbosity, args.image[0] if args.image else None)


def _no_vlm(args: argparse.Namespace, config) -> bool:
    """True when the describer would answer: read mode then needs only the reader."""
    if args.engine == "describer" or config.vlm.backend == "describer":
        return True
    try:
        from vision.answer import choice as engines
    except ImportError:
        return True
    return engines.choose(config)[0] == "describer"


def run_one(args: argparse.Namespace, config, mode, verbosity: str, image: str | None) -> int:
    from assistant.ports import VlmRequest
    from assistant.stage import CancelToken

    t0 = time.perf_counter()
    frame = grab_frame(args, config, image)
    engine = make_engine(args, config, verbosity)
    engine.load()
    grounding = ""
    perception = None
    if engine.name != "describer":
        # A VLM answers: ground it in what local perception finds, so it does not invent text.
        from vision.perception.analyze import Perception

        perception = Perception(labels=False).analyze(frame.image)
        grounding = perception.grounding_text()
        if config.scene.aiming_hints and perception.hints():
            info("; ".join(perception.hints()))
    request = VlmRequest(question=args.question, frame=frame, mode=mode, grounding=grounding,
                         max_new_tokens=config.vlm.max_new_tokens)
    pieces = []
    for piece in engine.stream(request, CancelToken.never()):
        pieces.append(piece)
        if not args.json:
            sys.stdout.write(piece)
            sys.stdout.flush()
    text = "".join(pieces).strip()
    if not args.json:
        sys.stdout.write("\n")
    seconds = time.perf_counter() - t0
    kept = keep_turn(config, "describe", mode=mode.value, question=args.question, answer=text,
                     engine=engine.name, image=frame.image)
    if kept:
        info(f"kept in history as turn {kept}")
    spoken = None
    if args.say:
        spoken = synthesize(text, args.say, config)
        info(f"spoke {spoken:.1f} s of audio into {args.say}")
    if args.json:
        if engine.name == "describer":
            perception = engine.analyze(frame.image, frame.key)
        print_json({
            "text": text, "mode": args.mode, "engine": engine.name, "source": frame.source,
            "size": [int(frame.image.shape[1]), int(frame.image.shape[0])],
            "seconds": round(seconds, 3), "say": args.say, "spoken_seconds": spoken,
            "perception": perception.as_dict() if perception is not None else None,
        })
    return 0
