"""`glimpse bench e2e --gpu`: whole turns on a CUDA GPU, per model preset.

The same turns as the CPU benchmark (spoken questions into the virtual microphone, the real
pipeline, Piper, the speaker's monitor read back), with the preset's models built in memory with
random weights in their real dimensions (see `ui.bench.kit.gpu_models`): Whisper small /
large-v3-turbo / large-v3 and SmolVLM2-2.2B / Qwen2.5-VL-3B, fixed decode lengths. Nothing is
downloaded. Every stage is set against its floor, worked out from the FLOPs and bytes it must
move and the device's peak throughput and bandwidth. Per preset: peak VRAM and RSS; the default
GPU preset must fit an 8 GB card.

Peers in the same run, on the same weights: openai-whisper's decode of the padded 30 s window
(what its transcribe() runs per window), HF eager `generate()` (whole prompt, image included),
and a pipeline that does not stream speech: it waits for the rest of the answer (at the decode
speed measured in the run), then Piper synthesizes the whole answer before playback.

`--device cpu --presets tiny` runs all of it with small stand-in models on a CPU (a dry run).
"""
from __future__ import annotations

import argparse
import gc
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import Config
from assistant.errors import GlimpseError
from ui.bench.kit import calibrate, report
from ui.bench.kit.report import info, latency_picture
from ui.bench.kit.timing import hf_eager_turn, timed_in_thread
from ui.bench.kit.turns import (
    QUESTIONS,
    STAGES,
    bench_config,
    make_questions,
    make_video,
    measure_turns,
    options,
    peer_tts,
    start_audio,
)
from ui.bench.kit.gpu_models import (
    ANSWER,
    BENCH_PRESETS,
    FixedLengthAsr,
    FixedLengthVlm,
    first_clause_tokens,
    measure_peaks,
    openai_whisper_decode,
    random_whisper,
    vlm_floor_parts,
    weights_gb,
    whisper_floor_s,
)
from ui.presets import DEFAULT_GPU_PRESET

EIGHT_GB_USABLE = 7.5 * 2**30  # an 8 GB card, less what a desktop keeps for itself


def _rss_reset() -> None:
    try:  # "5" clears the peak resident set size (VmHWM) of this process
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _rss_peak_mb() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def _photo() -> np.ndarray:
    import cv2
    from skimage import data

    return cv2.resize(cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2BGR), (640, 480))


def _tts_device() -> str:
    try:
        import onnxruntime

        providers = onnxruntime.get_available_providers()
    except ImportError:
        return "cpu"
    return "cpu (onnxruntime's CUDA provider is installed, but Piper runs on the CPU)" \
        if "CUDAExecutionProvider" in providers else \
        "cpu (onnxruntime has no CUDA provider here)"


def main(args: argparse.Namespace, config: Config) -> int:
    import torch

    opts = options(list(args.rest or []))

    device = opts.device or "cuda"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise GlimpseError("--gpu needs a CUDA GPU, and torch sees none",
                           "Run without --gpu, or on a machine with an NVIDIA GPU and a CUDA "
                           "build of torch (`-- --device cpu --presets tiny` is a dry run).")
    presets = [p.strip() for p in opts.presets.split(",") if p.strip()]
    unknown = [p for p in presets if p not in BENCH_PRESETS]
    if unknown or not presets:
        raise GlimpseError(f"Unknown preset(s): {', '.join(unknown) or '(none)'}",
                           f"Choose from {', '.join(BENCH_PRESETS)}.")
    cuda = device.startswith("cuda")
    dtype = (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16) if cuda \
        else torch.float32
    if opts.dtype:
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[opts.dtype]
    name = torch.cuda.get_device_name(0) if cuda else (platform.processor() or "cpu")
    turns = 3 if args.quick else max(opts.turns, 1)
    info(f"measuring the peak throughput of {name} ...")
    peaks = measure_peaks(device, dtype, name)
    audio = start_audio()
    try:
        with tempfile.TemporaryDirectory(prefix="glimpse-bench-") as tmp:
            folder = Path(tmp)
            config = bench_config(config, opts.camera or make_video(folder / "camera.mp4"))
            questions = make_questions(config, folder)
            from ui.bootstrap import build

            tts = build("tts", config)
            tts.load()
            runs = {}
            for i, key in enumerate(presets):
                info(f"preset {key}: {' + '.join(BENCH_PRESETS[key])} (random weights)")
                runs[key] = _run_preset(key, device, dtype, config, audio, questions, tts,
                                        turns, opts, peaks, idle=i == 0)
            peers_tts = peer_tts(config, [ANSWER] * 3)
    finally:
        audio.stop()
    return _report(args, opts, config, runs, peaks, name, dtype, peers_tts)


def _run_preset(key: str, device: str, dtype, config, audio, questions, tts, turns: int,
                opts, peaks, idle: bool) -> dict[str, Any]:
    import torch

    from assistant.events import Frame
    from assistant.ports import VlmRequest
    from ui.bench.kit.vlm_models import random_vlm
    from ui.bootstrap import bootstrap
    from vision.answer.vlm.engine import TransformersVlm
    from vision.answer.vlm.loading import load_processor

    cuda = device.startswith("cuda")
    whisper_size, vlm_size = BENCH_PRESETS[key]
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    _rss_reset()
    t0 = time.perf_counter()
    wmodel = random_whisper(whisper_size, device, torch.float16 if cuda else torch.float32)
    asr = FixedLengthAsr(wmodel, whisper_size, tokens=opts.asr_tokens)
    folder, vmodel = random_vlm(vlm_size, device, dtype)
    engine = TransformersVlm.from_model(vmodel, load_processor(folder), device=device,
                                        dtype=dtype, max_image_pixels=config.vlm.max_image_pixels,
                                        verbosity=config.scene.verbosity)
    vlm = FixedLengthVlm(engine, vlm_size, tokens=opts.answer_tokens)
    build_s = time.perf_counter() - t0

    def expect(text: str) -> None:
        asr.expect = text

    results, idle_cpu = measure_turns(  # one warm-up turn: CUDA kernels, caches
        bootstrap(config, asr=asr, vlm=vlm, tts=tts), audio, questions, turns, warm_up=1,
        idle_s=opts.idle_seconds if idle else None, before_turn=expect)
    memory: dict[str, Any] = {"rss_peak_mb": _rss_peak_mb(), **weights_gb(key)}
    if cuda:
        free, total = torch.cuda.mem_get_info()
        reserved = torch.cuda.max_memory_reserved()
        overhead = max(0, (total - free) - torch.cuda.memory_reserved())  # CUDA context etc.
        memory.update(vram_peak_allocated_gb=round(torch.cuda.max_memory_allocated() / 1e9, 2),
                      vram_peak_reserved_gb=round(reserved / 1e9, 2),
                      cuda_context_gb=round(overhead / 1e9, 2),
                      vram_peak_total_gb=round((reserved + overhead) / 1e9, 2),
                      fits_8gb=bool(reserved + overhead <= EIGHT_GB_USABLE))

    # Peers on the same weights and audio, and the floors.
    # On worker threads, as the stages run them (see vlm_bench._timed_in_thread).
    audios = [q[2] for q in questions]
    openai_ms, ours_ms = [], []
    timed_in_thread(lambda: openai_whisper_decode(wmodel, audios[0], opts.asr_tokens))
    for a in audios:
        openai_ms.append(1000 * timed_in_thread(
            lambda a=a: openai_whisper_decode(wmodel, a, opts.asr_tokens)))
        ours_ms.append(1000 * timed_in_thread(lambda a=a: asr.decode(a)))

    frame = Frame(image=_photo(), captured_at=1.0, source="bench")
    request = VlmRequest(question=QUESTIONS[0], frame=frame, max_new_tokens=opts.answer_tokens)
    hf: dict[str, list[float]] = {k: [] for k in ("preprocess_ms", "hf_first_ms",
                                                  "hf_followup_ms", "hf_decode_tps")}
    for _ in range(3):
        hf_eager_turn(engine, request, 0, opts.answer_tokens, hf)
    n_samples = int(np.median([len(a) for a in audios]))
    vf = vlm_floor_parts(engine, request, peaks)
    clause = first_clause_tokens()
    floors = {"asr": 1000 * whisper_floor_s(wmodel, n_samples, opts.asr_tokens, asr.fast, peaks),
              "answer": 1000 * vf["question_first_token"],
              "tts": 1000 * (clause - 1) * vf["per_token"],
              "image_prefix": 1000 * vf["image_prefix"]}
    floors["release_to_first_audio"] = max(floors["asr"], floors["image_prefix"]) + \
        floors["answer"] + floors["tts"]
    decode_tps = [engine.last.new_tokens / max(1e-9, (engine.last.last_step_s or 0) -
                                               (engine.last.first_step_s or 0))]
    out = {"results": results, "idle_cpu": idle_cpu.percent if idle_cpu else None,
           "memory": memory, "floors": floors,
           "build_s": round(build_s, 1), "clause_tokens": clause,
           "vlm_prompt_tokens": vf["prompt_tokens"], "vlm_image_tokens": vf["image_tokens"],
           "image_patches": vf["patches"],
           "peers": {"openai_whisper_decode_ms": openai_ms, "glimpse_asr_decode_ms": ours_ms,
                     "hf_eager_first_token_ms": hf["hf_first_ms"],
                     "hf_eager_tokens_per_s": hf["hf_decode_tps"]},
           "glimpse_tokens_per_s": decode_tps,
           "image_prefix_ms": 1000 * getattr(engine, "last_prepare_s", float("nan"))}
    return out  # the models go with this frame; the next preset collects them first


def _p(values: list[float], q: float) -> float | None:
    return round(report.pct(values, q), 1) if values else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def _whole_then_tts(whole_ms: float | None, tokens_per_s: float | None,
                    tokens: int) -> float | None:
    """A pipeline without streaming, from the first token to its first audio: it waits for the
    rest of the answer (at the decode speed measured here), then synthesizes all of it."""
    if whole_ms is None or not tokens_per_s:
        return None
    return round((tokens - 1) / tokens_per_s * 1000 + whole_ms, 1)


def _report(args, opts, config, runs: dict[str, dict], peaks, name: str, dtype,
            peers_tts) -> int:
    title = (f"## glimpse bench e2e --gpu ({name}, {str(dtype).replace('torch.', '')}, random "
             f"weights in real dimensions; transcript {opts.asr_tokens} tokens, answer "
             f"{opts.answer_tokens} tokens)")
    floors = (f"Floors from {peaks.source}: {peaks.flops_per_s / 1e12:.3g} TFLOP/s, "
              f"{peaks.bytes_per_s / 1e9:.3g} GB/s (measured here: "
              f"{peaks.measured_flops_per_s / 1e12:.3g} TFLOP/s, "
              f"{peaks.measured_bytes_per_s / 1e9:.3g} GB/s).")
    md = [title, "", floors]
    presets: dict[str, Any] = {}
    whole = _p(peers_tts["whole_answer_synthesis_ms"], 50)
    for key, run in runs.items():
        per_stage = {n: [t["stages"][n] for t in run["results"] if t["stages"][n] is not None]
                     for n, _ in STAGES}
        rows, s = [], {}
        for stage, label in STAGES:
            p50, p95 = _p(per_stage[stage], 50), _p(per_stage[stage], 95)
            floor = run["floors"].get(stage)
            rows.append([label, p50, p95, float(f"{floor:.3g}") if floor is not None else "n/a",
                         _ratio(p50, floor) or "n/a"])
            s[f"{stage}_ms_p50"], s[f"{stage}_ms_p95"] = p50, p95
        peers = run["peers"]
        ow, ours = _p(peers["openai_whisper_decode_ms"], 50), _p(peers["glimpse_asr_decode_ms"], 50)
        hf_first = _p(peers["hf_eager_first_token_ms"], 50)
        waited = _whole_then_tts(whole, _p(run["glimpse_tokens_per_s"], 50), opts.answer_tokens)
        s.update({"floors_ms": {k: float(f"{v:.3g}") for k, v in run["floors"].items()},
                  "openai_whisper_decode_ms_p50": ow, "glimpse_asr_decode_ms_p50": ours,
                  "asr_speedup_vs_openai_whisper": _ratio(ow, ours),
                  "hf_eager_first_token_ms_p50": hf_first,
                  "first_token_speedup_vs_hf_eager": _ratio(hf_first, s["answer_ms_p50"]),
                  "tokens_per_s": _p(run["glimpse_tokens_per_s"], 50),
                  "hf_eager_tokens_per_s": _p(peers["hf_eager_tokens_per_s"], 50),
                  "whole_answer_then_tts_ms_p50": waited,
                  "tts_first_audio_speedup_vs_whole_answer": _ratio(waited, s["tts_ms_p50"]),
                  "image_prefix_at_release_ms": round(run["image_prefix_ms"], 1),
                  "memory": run["memory"], "build_s": run["build_s"],
                  "models": BENCH_PRESETS[key], "turns": len(run["results"])})
        presets[key] = s
        md += ["", f"### {key}: Whisper {BENCH_PRESETS[key][0]} + {BENCH_PRESETS[key][1]}", "",
               report.table(["stage", "p50 ms", "p95 ms", "floor ms", "p50 / floor"], rows), "",
               report.table(["peer (same run, same weights)", "peer p50 ms", "Glimpse p50 ms",
                             "ratio"], [
                   ["openai-whisper decode (30 s window) vs Glimpse ASR decode", ow, ours,
                    s["asr_speedup_vs_openai_whisper"]],
                   ["HF eager generate() first token vs transcript -> first token", hf_first,
                    s["answer_ms_p50"], s["first_token_speedup_vs_hf_eager"]],
                   ["rest of the answer decoded, then Piper on all of it, vs first token -> "
                    "first audio", s["whole_answer_then_tts_ms_p50"], s["tts_ms_p50"],
                    s["tts_first_audio_speedup_vs_whole_answer"]]])]
    mem_rows = []
    for key, s in presets.items():
        m = s["memory"]
        mem_rows.append([key, m["weights_gb_bf16"], m.get("vram_peak_allocated_gb", "n/a"),
                         m.get("vram_peak_total_gb", "n/a"), m.get("fits_8gb", "n/a"),
                         m["rss_peak_mb"]])
    md += ["", report.table(["preset", "weights GB (bf16)", "VRAM peak allocated GB",
                             "VRAM peak with context GB", "fits 8 GB", "peak RSS MB"], mem_rows)]
    first_key = next(iter(runs))
    first = presets[first_key]
    idle = runs[first_key]["idle_cpu"]
    md += ["", f"Idle CPU with the camera preview on ({first_key}): {idle:.1f}% of one core.",
           f"TTS: Piper, {_tts_device()}."]
    # This machine's speed in the same run (CPU), so the figures read across machines too.
    cal = calibrate.calibration()
    md += [calibrate.calibration_line(cal)]
    summary = {k: v for k, v in first.items() if k.endswith(("_ms_p50", "_ms_p95"))}
    for stage, _ in STAGES:
        summary[f"{stage}_cal_p50"] = round(calibrate.in_calibration(
            first[f"{stage}_ms_p50"], cal), 4) if first[f"{stage}_ms_p50"] is not None else None
    slowest = max(runs[first_key]["results"],
                  key=lambda t: t["stages"]["release_to_first_audio"] or -1.0)
    summary["slowest_turn_ms"] = {k: None if v is None else round(v, 1)
                                  for k, v in slowest["stages"].items()}
    summary["calibration"] = cal
    summary.update({
        "release_to_first_audio_ms_p95": first["release_to_first_audio_ms_p95"],
        "preset": first_key, "device": name, "dtype": str(dtype).replace("torch.", ""),
        "peak_tflops": round(peaks.flops_per_s / 1e12, 3),
        "peak_gb_per_s": round(peaks.bytes_per_s / 1e9, 1), "peaks_source": peaks.source,
        "idle_cpu_percent_of_core": round(idle, 1) if idle is not None else None,
        "default_preset": DEFAULT_GPU_PRESET,
        "default_preset_fits_8gb": presets.get(DEFAULT_GPU_PRESET, {}).get("memory", {}).get(
            "fits_8gb"),
        "presets": presets,
    })
    details = {"config": config.to_dict(), "per_preset": {key: {
        "turns": [{"question": t["question"], "transcript": t["transcript"],
                   "stages_ms": t["stages"], "metrics": t["metrics"].as_dict()}
                  for t in run["results"]], "peers": run["peers"]} for key, run in runs.items()},
        "tts_peer": peers_tts}
    report.write(args.json, "e2e", summary, details, "\n".join(md))
    png = Path(opts.png) if opts.png else (Path(args.json).with_suffix(".png") if args.json
                                           else Path("bench-e2e-gpu.png"))
    run = runs[first_key]
    per_stage = {n: [t["stages"][n] for t in run["results"] if t["stages"][n] is not None]
                 for n, _ in STAGES}
    latency_picture(png, run["results"], per_stage, STAGES, title=f"{first_key} on {name}. ",
             floors=run["floors"])
    info(f"latency picture written to {png}")
    return 0
