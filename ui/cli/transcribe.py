"""`glimpse transcribe FILE... [--model M] [--engine E] [--language L] [--json]`.

Text goes to stdout (one line per file, prefixed with the file name when there are several);
loading messages and per-file errors go to stderr. A file that cannot be read is reported in one
line and the others are still transcribed; the exit status is 1 if any failed. Files longer than
30 s are transcribed in 30 s windows.
"""
from __future__ import annotations

import argparse
import sys
import time

from assistant.errors import GlimpseError
from ui.cli.common import info, load_config, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("transcribe", help="transcribe audio files (wav, flac, mp3, ...)")
    p.add_argument("files", nargs="+", metavar="FILE", help="audio files")
    p.add_argument("--model", help="Whisper model: a name (tiny.en, base, ...), whisper:<name> "
                                   "or a path (default: asr.model)")
    p.add_argument("--engine", choices=("fast", "openai-whisper", "faster-whisper"),
                   help="speech recognizer (default: asr.engine)")
    p.add_argument("--language", help="language code, or auto to detect (default: asr.language)")
    p.add_argument("--json", action="store_true", help="print JSON: text, language, seconds, "
                                                      "timings")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from assistant.ports import AsrOptions
    from audio.asr import engines as asr_mod
    from audio.capture.files import load_audio

    config = load_config(args)
    engine_name = args.engine or config.asr.engine
    model = args.model or config.asr.model
    language = args.language or config.asr.language
    options = AsrOptions(language=None if language == "auto" else language,
                         initial_prompt=config.asr.initial_prompt, hotwords=config.asr.hotwords,
                         no_speech_threshold=config.asr.no_speech_threshold,
                         logprob_threshold=config.asr.logprob_threshold)
    engine = asr_mod.create(engine_name, model, config=config, device=config.asr.device)
    info(f"loading {engine_name} with {model} ...")
    t0 = time.perf_counter()
    engine.load()
    load_s = time.perf_counter() - t0
    failed = 0
    results = []
    for path in args.files:
        try:
            t0 = time.perf_counter()
            audio = load_audio(path)
            t1 = time.perf_counter()
            bar = _progress(engine, path, len(audio) / 16000)
            try:
                result = engine.transcribe(audio, options)
            finally:
                if bar is not None:
                    bar.close()
                    engine.on_progress = None
            t2 = time.perf_counter()
        except GlimpseError as exc:
            failed += 1
            print(f"glimpse: {path}: {exc.message}", file=sys.stderr)
            continue
        record = {"file": path, "text": result.text, "language": result.language,
                  "seconds": round(len(audio) / 16000, 3), "rejected": result.rejected,
                  "timings": {"load_audio_s": round(t1 - t0, 4),
                              "transcribe_s": round(t2 - t1, 4),
                              "real_time_factor": round((t2 - t1) / max(len(audio) / 16000,
                                                                        1e-9), 4)}}
        windows = getattr(engine, "window_languages", None)
        if windows and len(windows) > 1:
            record["window_languages"] = list(windows)  # detected per window of a long file
        results.append(record)
        if args.json:
            continue
        if result.rejected:
            info(f"{path}: no speech recognized ({result.rejected})")
        prefix = f"{path}: " if len(args.files) > 1 else ""
        print(f"{prefix}{result.text}", flush=True)
    if args.json:
        print_json({"engine": engine_name, "model": model, "model_load_s": round(load_s, 3),
                    "files": results} if len(args.files) > 1 or failed else
                   {"engine": engine_name, "model": model, "model_load_s": round(load_s, 3),
                    **results[0]})
    return 1 if failed else 0


def _progress(engine, path: str, seconds: float):
    """A tqdm bar on stderr (seconds of audio done) for long files, where the engine reports."""
    if seconds <= 30 or not hasattr(engine, "on_progress"):
        return None
    from tqdm import tqdm

    bar = tqdm(total=round(seconds), desc=path, unit="s", file=sys.stderr, leave=False,
               disable=None)

    def update(done: float, _total: float) -> None:
        bar.n = round(done)
        bar.refresh()

    engine.on_progress = update
    return bar
