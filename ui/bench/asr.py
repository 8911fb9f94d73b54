"""`glimpse bench asr [--json OUT] [--quick] [-- --model M]`: release -> final transcript latency.

Same audio, same weights, one run. For 2 s, 5 s and 10 s utterances (cut from jfk.flac, or from
espeak-ng speech when the file is not there):
- glimpse `fast`, as the ASR stage runs it: a partial decode of the audio up to 0.5 s before the
  release (what the stage decoded while the key was held), then the timed final decode, which
  reuses that partial as a verified draft. "release -> final" = from the final audio being
  available to the transcript;
- glimpse `fast` with int8 Linear layers (`asr.int8`), the same way, interleaved with the
  float32 run so both see the same machine load;
- glimpse `fast` without a partial (cold);
- the first decode after loading, with and without the warm-up pass at load;
- openai-whisper `transcribe()`, greedy (temperature 0), fp32 on CPU: the peer baseline;
- faster-whisper int8 greedy, when a CTranslate2 copy of the model is available.
The jfk cuts end mid-sentence, so the final decode has words to read that the partial did not
have. A push-to-talk question ends before the key is let go: `bench e2e`'s questions, spoken
by the configured voice (Piper in the offline pack; espeak-ng without one) with 0.4 s of silence
after them, are measured the same way (int8, the default, after a partial) against
openai-whisper on the same audio, with the WER of both against the words spoken.
WER is measured on the whole jfk.flac against its reference text. A calibration figure from the
same run (openai-whisper tiny.en on jfk.flac, `report.calibration`) is recorded, and every time
is also given as a multiple of it ("cal"), so runs on loaded or different machines compare.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from assistant.config import Config
from ui.bench.kit import calibrate, report
from ui.bench.kit.calibrate import REFERENCE, espeak, speech as _speech, weights as _weights
from ui.bench.kit.scoring import wer

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


def _time(fn, reps: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _first_decode(checkpoint: Path, clip: np.ndarray, options, reps: int) -> dict[str, float]:
    """The first transcribe() after load, with and without the warm-up pass (fresh engines,
    alternating), in ms: what the first turn after start pays."""
    from audio.asr import engines as asr

    out: dict[str, list[float]] = {"warm_up": [], "no_warm_up": []}
    for _ in range(reps):
        for key in out:
            engine = asr.FastWhisperEngine(checkpoint, device="cpu",
                                              warm_up=key == "warm_up")
            engine.load()
            t0 = time.perf_counter()
            engine.transcribe(clip, options)
            out[key].append((time.perf_counter() - t0) * 1000)
    return {k: statistics.median(v) for k, v in out.items()}


def _spoken_questions(config: Config) -> tuple[list[tuple[str, np.ndarray]], str]:
    """(text, 16 kHz audio) of `bench e2e`'s questions, and the voice that spoke them."""
    from ui.bench.kit.report import info
    from ui.bench.kit.turns import QUESTIONS, speak_questions

    try:
        return speak_questions(config), config.tts.engine
    except Exception as exc:  # noqa: BLE001 - said, and measured with espeak-ng instead
        info(f"The configured voice could not speak the questions ({exc}); espeak-ng does.")
        return [(text, np.concatenate([espeak(text), np.zeros(6400, np.float32)]))
                for text in QUESTIONS], "espeak-ng"


def _after_partial(engine, head: np.ndarray, clip: np.ndarray) -> tuple[float, str]:
    """ms and text of the final decode of `clip`, after a partial of `head` (done while the key
    was held: not timed)."""
    from assistant.ports import AsrOptions

    engine.transcribe(head, AsrOptions(language="en", partial=True))
    t0 = time.perf_counter()
    text = engine.transcribe(clip, AsrOptions(language="en")).text
    return (time.perf_counter() - t0) * 1000, text


def _questions(engine, openai, questions, reps: int) -> dict:
    """Each question: `_after_partial` with the partial 0.5 s before the release; openai-whisper
    transcribe() on the same audio, interleaved."""
    ours: list[float] = []
    theirs: list[float] = []
    texts: dict[str, dict[str, str]] = {}
    for text, audio in questions:
        head = audio[: max(0, audio.size - int(PARTIAL_LAG_S * 16000))]
        for rep in range(reps + 1):  # the first is a warm-up
            ms, heard = _after_partial(engine, head, audio)
            t1 = time.perf_counter()
            peer = openai(audio)
            if rep:
                ours.append(ms)
                theirs.append((time.perf_counter() - t1) * 1000)
        texts[text] = {"glimpse": heard, "openai_whisper": peer}
    return {"fast_int8_release_to_final_ms": ours, "openai_whisper_ms": theirs, "texts": texts,
            "wer": float(np.mean([wer(t, v["glimpse"]) for t, v in texts.items()])),
            "openai_whisper_wer": float(np.mean([wer(t, v["openai_whisper"])
                                                 for t, v in texts.items()]))}


def main(args: argparse.Namespace, config: Config) -> int:
    import whisper

    from assistant.ports import AsrOptions
    from audio.asr import engines as asr

    opts = _args(list(getattr(args, "rest", None) or []))
    args.quick = bool(getattr(args, "quick", False) or opts.quick)
    args.json = getattr(args, "json", None) or opts.json
    reps = opts.reps or (2 if args.quick else 7)
    checkpoint, ct2 = _weights(opts.model)
    speech = _speech()
    questions, voice = _spoken_questions(config)
    print(f"glimpse: bench asr with {checkpoint.name}, {reps} reps", file=sys.stderr)
    # Every engine here, Glimpse's and the peers', runs with the threads the ASR stage gets.
    import torch

    from assistant.stage import stage_threads

    torch.set_num_threads(stage_threads())
    cal = calibrate.calibration()
    fast = asr.FastWhisperEngine(checkpoint, device="cpu")
    fast.load()
    fast8 = asr.FastWhisperEngine(checkpoint, device="cpu", int8=True)
    fast8.load()
    ref_model = whisper.load_model(str(checkpoint), device="cpu")
    faster = None
    if ct2 is not None:
        faster = asr.FasterWhisperEngine(ct2, device="cpu")
        faster.load()
    final = AsrOptions(language="en")

    def openai(clip: np.ndarray) -> str:
        return whisper.transcribe(ref_model, clip, temperature=0.0, fp16=False,
                                  language="en", verbose=None)["text"]

    lengths = sorted({5.0, *(float(x) for x in opts.lengths.split(",") if x.strip())})
    rows, results = [], {}
    for seconds in lengths:
        clip = np.tile(speech, 2)[: int(seconds * 16000)]
        head = clip[: int((seconds - PARTIAL_LAG_S) * 16000)]

        timed: list[float] = []
        timed8: list[float] = []
        for rep in range(reps + 1):  # the first is a warm-up; float32 and int8 alternate
            (t32, _), (t8, _) = _after_partial(fast, head, clip), _after_partial(fast8, head, clip)
            if rep:
                timed.append(t32)
                timed8.append(t8)
        cold = _time(lambda c=clip: fast.transcribe(c, final), reps)
        ref = _time(lambda c=clip: openai(c), reps)
        fw = _time(lambda c=clip: faster.transcribe(c, final), reps) if faster else []
        entry = {"fast_release_to_final_ms": timed, "fast_int8_release_to_final_ms": timed8,
                 "fast_cold_ms": cold, "openai_whisper_ms": ref, "faster_whisper_ms": fw}
        results[f"{seconds:g}s"] = entry
        med = {k: statistics.median(v) for k, v in entry.items() if v}
        c = calibrate.in_calibration
        rows.append([f"{seconds:g} s", med["fast_release_to_final_ms"],
                     med["fast_int8_release_to_final_ms"], med["fast_cold_ms"],
                     med["openai_whisper_ms"], med.get("faster_whisper_ms", float("nan")),
                     c(med["fast_release_to_final_ms"], cal),
                     c(med["fast_int8_release_to_final_ms"], cal),
                     med["openai_whisper_ms"] / med["fast_release_to_final_ms"],
                     med["openai_whisper_ms"] / med["fast_int8_release_to_final_ms"]])
    asked = _questions(fast8, openai, questions, reps)
    results["questions"] = asked
    q50 = report.pct(asked["fast_int8_release_to_final_ms"], 50)
    qref = report.pct(asked["openai_whisper_ms"], 50)
    first = _first_decode(checkpoint, speech[: 5 * 16000], final, reps=1 if args.quick else 3)
    texts = {"fast": fast.transcribe(speech, final).text,
             "fast_int8": fast8.transcribe(speech, final).text,
             "openai_whisper": openai(speech)}
    if faster:
        texts["faster_whisper"] = faster.transcribe(speech, final).text
    wers = {k: wer(REFERENCE, v) for k, v in texts.items()}
    five = results["5s"]
    p50 = report.pct(five["fast_release_to_final_ms"], 50)
    p50_8 = report.pct(five["fast_int8_release_to_final_ms"], 50)
    ref50 = report.pct(five["openai_whisper_ms"], 50)
    summary = {"release_to_final_ms_p50": p50, "openai_whisper_ms_p50": ref50,
               "speedup_vs_openai_whisper": ref50 / p50 if p50 else None,
               "int8_release_to_final_ms_p50": p50_8,
               "int8_speedup_vs_openai_whisper": ref50 / p50_8 if p50_8 else None,
               "release_to_final_cal_p50": calibrate.in_calibration(p50, cal),
               "int8_release_to_final_cal_p50": calibrate.in_calibration(p50_8, cal),
               "calibration": cal,
               "first_decode_after_load_ms": first,
               "fast_cold_ms_p50": report.pct(five["fast_cold_ms"], 50),
               "faster_whisper_ms_p50": report.pct(five["faster_whisper_ms"], 50)
               if five["faster_whisper_ms"] else None,
               "wer": wers["fast"], "int8_wer": wers["fast_int8"],
               "openai_whisper_wer": wers["openai_whisper"],
               "faster_whisper_wer": wers.get("faster_whisper"),
               "questions_int8_release_to_final_ms_p50": q50,
               "questions_openai_whisper_ms_p50": qref,
               "questions_int8_speedup_vs_openai_whisper": qref / q50 if q50 else None,
               "questions_int8_release_to_final_cal_p50": calibrate.in_calibration(q50, cal),
               "questions_wer": asked["wer"],
               "questions_openai_whisper_wer": asked["openai_whisper_wer"],
               "questions_voice": voice,
               "model": checkpoint.name, "reps": reps}
    markdown = "\n".join([
        f"ASR release -> final transcript, {checkpoint.name}, CPU, median of {reps} (ms)", "",
        report.table(["utterance", "glimpse fast (after partial)", "fast int8 (after partial)",
                      "glimpse fast (cold)", "openai-whisper transcribe()",
                      "faster-whisper int8", "fast (cal)", "fast int8 (cal)",
                      "speedup vs openai-whisper", "int8 speedup vs openai-whisper"], rows), "",
        f"Questions ({len(questions)}, spoken by {voice}, 0.4 s of silence after), median of "
        f"{len(asked['openai_whisper_ms'])} (ms)", "",
        report.table(["utterances", "fast int8 (after partial)", "openai-whisper transcribe()",
                      "fast int8 (cal)", "int8 speedup vs openai-whisper", "WER int8",
                      "WER openai-whisper"],
                     [["questions", q50, qref, calibrate.in_calibration(q50, cal), qref / q50,
                       asked["wer"], asked["openai_whisper_wer"]]]), "",
        calibrate.calibration_line(cal), "",
        "First decode of 5 s after loading (ms, median over fresh loads): "
        + ", ".join(f"{k} {v:.0f}" for k, v in first.items()), "",
        report.table(["engine", "jfk WER", "text"],
                     [[k, v, texts[k]] for k, v in wers.items()]),
    ])
    report.write(args.json, "asr", summary, {"runs": results, "texts": texts}, markdown)
    return 0
