"""`glimpse bench e2e`: whole turns through the real pipeline and real devices.

A spoken question is played into the microphone while the key is "held"; the release, the final
transcript, the first answer token, the first audio queued and the first audible sample on the
speaker are timed for every turn. On machines without sound hardware the benchmark starts its own
virtual microphone and speaker (a private PulseAudio server), so PortAudio, Whisper, the answer
engine and the TTS engine all run for real. The first audible sample is read from the speaker side
by a probe that records the speaker's monitor with monotonic timestamps.

With a preset (`--preset`, or the recommended one) whose image-text model is not on this computer
(Balanced (CPU) offline), that model runs in its published dimensions with seeded random weights
(`vlm.int8` as configured), handing on the words of a fixed answer at the pace its tokens come,
so the turn's times are the real model's and what is spoken is a real sentence.

Peers in the same run: openai-whisper `transcribe()` on the same audio and weights, and Piper
synthesizing the whole answer before playback. A calibration figure from the same run
(`ui.bench.kit.calibrate`: openai-whisper tiny.en on jfk.flac and a fixed matmul) is recorded, and
every stage is also given as a multiple of it, so runs on a loaded machine compare.
"""
from __future__ import annotations

import argparse
import logging
import resource
import tempfile
import time
from pathlib import Path
from typing import Any


from assistant.config import Config
from ui.bench.kit import calibrate, report
from ui.bench.kit.report import info, latency_picture
from ui.bench.kit.turns import (
    STAGES,
    bench_config,
    make_questions,
    make_video,
    measure_turns,
    options,
    peer_tts,
    start_audio,
    with_preset,
)
from ui.presets import SMOLVLM2_2B, SMOLVLM2_500M










#: Image-text models that can run in their real dimensions with random weights when absent.
STAND_IN_SIZES = {SMOLVLM2_500M: "smolvlm2-500m", SMOLVLM2_2B: "smolvlm2-2.2b"}


def _stand_in_vlm(config: Config, answer_tokens: int = 24):
    """(engine, what) for a configured local VLM that is not on this computer: the model in its
    real dimensions with seeded random weights on the CPU (see the module docstring); (None, "")
    when the configured model is present or the answers come from elsewhere."""
    size = STAND_IN_SIZES.get(config.vlm.model)
    if config.vlm.backend not in ("local", "auto") or size is None:
        return None, ""
    from ui.bootstrap import model_store

    if model_store(config).locate(config.vlm.model) is not None:
        return None, ""
    import torch

    from ui.bench.kit.gpu_models import FixedLengthVlm
    from ui.bench.kit.vlm_models import random_vlm
    from vision.answer.vlm.engine import TransformersVlm
    from vision.answer.vlm.loading import load_processor
    from vision.answer.vlm.loading import quantize_for_cpu

    # As the real checkpoint (stored in bfloat16) is loaded: in half precision, the decoder
    # quantized from it, then the rest in float32 (vision.answer.vlm.loading.load_model).
    folder, model = random_vlm(size, "cpu", torch.bfloat16 if config.vlm.int8 else torch.float32)
    if config.vlm.int8:
        quantize_for_cpu(model)
        model.float()
    engine = TransformersVlm.from_model(model, load_processor(folder), device="cpu",
                                        dtype=torch.float32,
                                        max_image_pixels=config.vlm.max_image_pixels)
    what = (f"{size} with random weights in its real dimensions, "
            f"{'int8' if config.vlm.int8 else 'float32'} on the CPU, {answer_tokens} tokens")
    return FixedLengthVlm(engine, size, tokens=answer_tokens), what


















def _peer_asr(config: Config, questions) -> dict[str, Any]:
    """openai-whisper transcribe() on the same audio and weights (greedy, warm)."""
    import whisper

    from ui.bootstrap import model_store

    name = config.asr.model.split(":", 1)[1] if config.asr.model.startswith("whisper:") else \
        config.asr.model
    import torch

    from assistant.stage import stage_threads

    # The threads Glimpse's ASR stage gets (assistant.stage.stage_threads): the same budget.
    torch.set_num_threads(stage_threads())
    model = whisper.load_model(str(model_store(config).whisper_checkpoint(name)), device="cpu")
    model.transcribe(questions[0][2], temperature=0.0, fp16=False)  # warm-up
    times = []
    for _, _, audio in questions:
        t0 = time.perf_counter()
        model.transcribe(audio, temperature=0.0, fp16=False, language="en")
        times.append((time.perf_counter() - t0) * 1000)
    return {"openai_whisper_ms": times}
















class _Warnings(logging.Handler):
    """The warnings logged while the benchmark runs (a model substituted, say), for the report."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if text not in self.messages:
            self.messages.append(text)


def main(args: argparse.Namespace, config: Config) -> int:
    opts = options(list(args.rest or []))
    turns = 3 if args.quick else max(opts.turns, 1)
    audio = start_audio()
    from ui.bootstrap import bootstrap

    warnings = _Warnings()
    logging.getLogger().addHandler(warnings)
    try:
        with tempfile.TemporaryDirectory(prefix="glimpse-bench-") as tmp:
            folder = Path(tmp)
            config, opts.preset = with_preset(config, opts.preset)
            config = bench_config(config, opts.camera or make_video(folder / "camera.mp4"))
            questions = make_questions(config, folder)
            # A preset is measured as it would run once its models are in place; your own
            # settings (--preset none) as they run now (the describer stands in, with a warning).
            vlm, opts.stand_in = _stand_in_vlm(config) if opts.preset else (None, "")
            pipeline = bootstrap(config, vlm=vlm) if vlm is not None else bootstrap(config)
            looks: list = []
            results, idle_cpu = measure_turns(pipeline, audio, questions, turns,
                                              idle_s=opts.idle_seconds, looks=looks)
            opts.looks = looks
            # The app's peak memory is read before the peers load their own models.
            opts.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            del pipeline, vlm
            peers = _peer_asr(config, questions)
            peers["calibration"] = calibrate.calibration()
            peers.update(peer_tts(config, [t["answer"] for t in results[:5] if t["answer"]]))
    finally:
        logging.getLogger().removeHandler(warnings)
        audio.stop()
    return _report(args, opts, config, results, peers, idle_cpu, warnings.messages)


def _report(args, opts, config, results, peers, idle_cpu, warnings=()) -> int:
    per_stage = {name: [t["stages"][name] for t in results if t["stages"][name] is not None]
                 for name, _ in STAGES}
    cal = peers["calibration"]
    rows, summary = [], {}
    for name, label in STAGES:
        values = per_stage[name]
        p50, p95 = report.pct(values, 50), report.pct(values, 95)
        rows.append([label, p50, p95, calibrate.in_calibration(p50, cal),
                     calibrate.in_calibration(p95, cal), len(values)])
        summary[f"{name}_ms_p50"] = round(p50, 1)
        summary[f"{name}_ms_p95"] = round(p95, 1)
        summary[f"{name}_cal_p50"] = round(calibrate.in_calibration(p50, cal), 4)
    summary["calibration"] = cal
    looks = [look for look in getattr(opts, "looks", []) if not look.cancelled]
    first_look = looks[0] if looks else None
    summary["look_ahead_ms"] = round(1000 * first_look.seconds, 1) if first_look else None
    summary["look_ahead_cpu_s"] = round(first_look.cpu_s, 2) if first_look else None
    summary["looks"] = len(getattr(opts, "looks", []))
    slowest = max(results, key=lambda t: t["stages"]["release_to_first_audio"] or -1.0)
    summary["slowest_turn_ms"] = {k: None if v is None else round(v, 1)
                                  for k, v in slowest["stages"].items()}
    summary["release_to_first_audio_ms_p95"] = round(report.pct(
        per_stage["release_to_first_audio"], 95), 1)
    ow = report.pct(peers["openai_whisper_ms"], 50)
    whole = report.pct(peers["whole_answer_synthesis_ms"], 50) if peers[
        "whole_answer_synthesis_ms"] else float("nan")
    summary.update({
        "openai_whisper_transcribe_ms_p50": round(ow, 1),
        "asr_speedup_vs_openai_whisper": round(ow / summary["asr_ms_p50"], 2),
        "piper_whole_answer_ms_p50": round(whole, 1),
        "tts_first_audio_speedup_vs_whole_answer": round(whole / summary["tts_ms_p50"], 2),
        "vlm_peer": "not run: the offline describer answered (no VLM weights offline)"
        if not opts.stand_in else "not run (`glimpse bench vlm --size` has it)",
        "vlm_stand_in": opts.stand_in or None,
        "idle_cpu_percent_of_core": round(idle_cpu.percent, 1),
        "idle_cpu_by_thread": idle_cpu.threads,
        "peak_rss_mb": round(opts.peak_rss_mb, 1),  # the pipeline's, before the peers ran
        "preset": opts.preset or None, "asr_model": config.asr.model,
        "turns": len(results),
        "answered_turns": sum(1 for t in results if t["answer"]),
        "speech_gaps": sum(t["gaps"] for t in results),
        "underruns": sum(t["underruns"] for t in results),
        "underruns_in_sound": sum(t.get("underruns_in_sound", 0) for t in results),
        "turns_with_underruns": [i + 1 for i, t in enumerate(results) if t["underruns"]],
    })
    md = ["## glimpse bench e2e", "",
          report.table(["stage", "p50 ms", "p95 ms", "p50 (cal)", "p95 (cal)", "n"], rows), "",
          calibrate.calibration_line(cal), "",
          f"Slowest turn ({slowest['question']!r}): " + ", ".join(
              f"{name} {'-' if slowest['stages'][name] is None else round(slowest['stages'][name])}"
              " ms" for name, _ in STAGES), "",
          report.table(["peer (same run)", "p50 ms", "Glimpse p50 ms", "ratio"], [
              ["openai-whisper transcribe() vs release->transcript", ow, summary["asr_ms_p50"],
               summary["asr_speedup_vs_openai_whisper"]],
              ["whole-answer synthesis vs token->first audio", whole, summary["tts_ms_p50"],
               summary["tts_first_audio_speedup_vs_whole_answer"]],
          ]), "",
          f"Idle CPU with the camera preview on: {idle_cpu.percent:.1f}% of one core"
          + (" (" + ", ".join(f"{n} {v:.1f}" for n, v in list(idle_cpu.threads.items())[:8])
             + ")" if idle_cpu.threads else "") + f". Peak RSS of the app {summary['peak_rss_mb']} MB (before the peers ran).",
          (f"Looking ahead: the answer engine looked at the camera's view in "
           f"{summary['look_ahead_ms']:.0f} ms ({summary['look_ahead_cpu_s']} CPU s) before the "
           f"first question (what a question asked right after the view changed waits for); "
           f"{summary['looks']} looks in the run." if first_look else
           "Looking ahead: off, or the answer engine has nothing to look at."),
          f"Speech in {len(results)} turns: {summary['speech_gaps']} pauses inside an answer "
          f"(the speaker ran dry before the next piece), {summary['underruns']} device underruns"
          f" ({summary['underruns_in_sound']} between two blocks of sound"
          + (f"; in turns {summary['turns_with_underruns'][:10]}"
             if summary["turns_with_underruns"] else "") + ").",
          (f"Preset {opts.preset}. " if opts.preset else "") +
          f"Models: asr {config.asr.engine} {config.asr.model}; answer "
          f"{opts.stand_in or config.vlm.backend}; "
          f"tts {config.tts.engine} {config.tts.voice}."]
    if warnings:
        md += ["", "Warnings during the run (what was measured instead):", "",
               *[f"- {text}" for text in warnings]]
    details = {"config": config.to_dict(), "warnings": list(warnings), "turns": [
        {"question": t["question"], "transcript": t["transcript"], "answer": t["answer"],
         "stages_ms": t["stages"], "gaps": t["gaps"], "underruns": t["underruns"],
         "underruns_in_sound": t.get("underruns_in_sound", 0),
         "metrics": t["metrics"].as_dict()} for t in results],
        "peers": peers}
    report.write(args.json, "e2e", summary, details, "\n".join(md))
    png = Path(opts.png) if opts.png else (Path(args.json).with_suffix(".png") if args.json
                                           else Path("bench-e2e.png"))
    latency_picture(png, results, per_stage, STAGES)
    info(f"latency picture written to {png}")
    return 0

