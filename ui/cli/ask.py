"""`glimpse ask --audio Q.wav [--image F.jpg | --camera SRC] [--say OUT.wav] [--json]`:
one full turn through the real pipeline, headless.

stdout: the transcript line, then the answer (or one JSON document with --json).
stderr: progress, notices, the turn's timings.

A watch ("tell me when you see a cup", with --camera) keeps the command running after the
answer until the thing is seen (its words are printed as a third line), the watch times out
(`finder.watch_timeout_s`) or Ctrl+C.

The turn is kept in history like the window's (`ui.cli.record`; `--no-history` leaves it out).
"""
from __future__ import annotations

import argparse
import queue
import sys
from functools import partial

from assistant import events as ev
from assistant.errors import GlimpseError
from ui.bootstrap import Parts, bootstrap, build_reduced
from ui.cli.common import add_no_history, info, load_config, print_json
from ui.cli.record import PipelineHistory


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ask", help="one full turn, headless: a spoken (or typed) question and a "
                                   "picture in; transcript, answer and timings out")
    question = p.add_mutually_exclusive_group(required=True)
    question.add_argument("--audio", metavar="Q.wav", help="the spoken question (wav/flac/mp3)")
    question.add_argument("--text", metavar="QUESTION", help="a typed question instead")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--image", metavar="F.jpg", help="the picture to ask about")
    source.add_argument("--camera", metavar="SRC", help="camera index, video file, URL or folder")
    p.add_argument("--say", metavar="OUT.wav", help="also speak the answer into this WAV file")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument("--timeout", type=float, default=600.0, help="give up after this many seconds")
    add_no_history(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(args)
    source = args.image or args.camera or ""
    config = config.with_value("camera.source", source)
    speaker = None
    if args.say:
        from audio.playback.file_speaker import WavFileSpeaker

        speaker = WavFileSpeaker(args.say)
        # --say asks for the spoken answer, whatever ui.speak_answers says for the window.
        config = config.with_value("ui.speak_answers", True)
    samples = None
    if args.audio:
        from audio.capture.files import load_audio

        samples = load_audio(args.audio)
    parts = Parts(audio_in=False, asr=args.audio is not None, camera=bool(source),
                  speech_out=speaker is not None, playback=speaker is not None)
    required = ["answer engine"] + (["microphone and speech recognition"] if samples is not None
                                    else [])
    pipeline, problems = build_reduced(config, partial(bootstrap, speaker=speaker,
                                                       stop_hint="Press Ctrl+C to end."),
                                       parts=parts,
                                       required=tuple(required))
    for problem in problems:
        info(problem)
    history = PipelineHistory(config, "ask")
    history.attach(pipeline)
    pipeline.start()
    try:
        # Timings start at the question, not at model loading.
        pipeline.wait_ready(timeout=args.timeout)
        if samples is not None:
            pipeline.submit(ev.AskAudio(samples=samples, sample_rate=16000))
        else:
            pipeline.submit(ev.Ask(text=args.text))
        result = _collect(pipeline, args.timeout)
    finally:
        pipeline.stop(timeout=5.0)
        kept = history.close()
    if kept:
        info("kept in history (glimpse history list; --no-history leaves a run out)")
    if args.json:
        print_json(result)
    else:
        print(result["transcript"])
        print(result["answer"])
        if result.get("sighting"):
            print(result["sighting"]["message"])
    timings = result["timings_ms"]
    if timings:
        info("timings from release (ms): " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))
    if args.say and result["answer"]:
        info(f"spoken answer written to {args.say}")
    return 1 if result["errors"] or not result["answer"] else 0


def _collect(pipeline, timeout: float) -> dict:
    result: dict = {"transcript": "", "language": None, "answer": "", "source": None,
                    "frame": None, "notices": [], "errors": [], "timings_ms": {}, "metrics": None}
    deadline = ev.now() + timeout
    watching = ended = False
    while True:
        left = deadline - ev.now()
        if left <= 0:
            raise GlimpseError(f"The turn did not finish within {timeout:.0f} s",
                               "Try a smaller model, or raise --timeout.")
        try:
            event = pipeline.events.get(timeout=min(left, 0.5))
        except queue.Empty:
            continue
        if isinstance(event, ev.Transcript) and not event.partial:
            result["transcript"], result["language"] = event.text, event.language
        elif isinstance(event, ev.Answer):
            result["answer"], result["source"] = event.text, event.source
        elif isinstance(event, ev.Frame):
            result["frame"] = {"source": event.source, "age_s": round(event.age, 3),
                               "sharpness": round(event.sharpness, 1),
                               "size": list(event.image.shape[:2][::-1])}
        elif isinstance(event, ev.Notice):
            result["notices"].append(event.message)
            info(event.message)
        elif isinstance(event, ev.ErrorEvent):
            result["errors"].append({"stage": event.stage.value, "message": event.message})
            print(f"glimpse: {event.message}", file=sys.stderr)
            if event.stage == ev.StageName.WATCH:
                watching = False
                if ended:
                    return result
        elif isinstance(event, ev.WatchFor):
            watching = bool(event.query)
        elif isinstance(event, ev.Status) and event.state == "loading":
            info(f"loading {event.stage.value}: {event.detail}")
        elif isinstance(event, ev.Status) and event.stage == ev.StageName.WATCH:
            watching = event.state == "watching"
            if watching:
                info(f"watching for {event.detail} (Ctrl+C stops)")
            elif ended:
                return result  # the watch ended: seen, timed out or stopped
        elif isinstance(event, ev.Sighting):
            result["sighting"] = {"message": event.message, "frames": event.frames,
                                  "latency_s": round(event.latency_s, 3)}
        elif isinstance(event, ev.Metrics):
            result["metrics"] = event.as_dict()
            result["timings_ms"] = {k: round(v, 1) for k, v in event.durations_ms().items()}
        elif isinstance(event, ev.TurnEnded):
            ended = True
            if not watching:
                return result
