"""`glimpse bench vlm [--json OUT] [--gpu] [--quick] [-- --model PATH ...]`

Measures, per camera frame: preprocessing (downscale, image processor, chat template,
tokenizing), OCR (local perception, when available), and the VLM's time to first token and
decode speed with Glimpse's engine (`vision.answer.vlm.engine.TransformersVlm`: streaming, follow-up prefix
reuse) against Hugging Face eager `generate()` on the same model, the same inputs, in the same
run (plain `model.generate`, no streaming, no prefix reuse; its first token is the time of a
`max_new_tokens=1` call, preprocessing included as for the engine).

Each frame gets a first question, then follow-up questions with the conversation so far (what
the answer stage sends); decode lengths are fixed (end-of-answer ignored via min_new_tokens).

CPU (default): the tiny seeded random-weight SmolVLM, unless `--model PATH` names a real model
folder: the tiny model's times show the engine's overhead and the follow-up saving, not a real
model's speed. `--size smolvlm2-500m`: random weights in the Balanced (CPU) preset's published
dimensions, float32 against int8 text-decoder weights (`vlm.int8`) in the same run. The engine
looks at the frame when the key is pressed (`prepare_frame`: the vision encoder and the prompt
up to the question), so its first token is timed from the question, with that look given on its
own ("image at the press"); HF eager's first token includes everything.

`--gpu`: random weights in SmolVLM2-2.2B and Qwen2.5-VL-3B dimensions, bf16 on CUDA; decode
speed is compared with the memory-bandwidth bound (bytes of weights read per token / HBM
bandwidth).
"""
from __future__ import annotations

import argparse
import gc
import time
from typing import Any

import numpy as np

from assistant.config import Config
from assistant.errors import GlimpseError
from ui.bench.kit import report
from ui.bench.kit.gpu_models import decode_bytes_per_token, hbm_bytes_per_s
from ui.bench.kit.timing import hf_eager_turn

# Peak HBM bandwidth in bytes/s, from the vendors' data sheets, by device name.
QUESTIONS = ("What is in front of me?", "What does the sign say?", "Is anyone there?",
             "What colour is it?")


def options(rest: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="glimpse bench vlm --", add_help=True)
    p.add_argument("--model", help="a real model folder (CPU mode); default: the tiny "
                                   "random-weight SmolVLM")
    p.add_argument("--frames", type=int, help="frames to ask about")
    p.add_argument("--followups", type=int, help="follow-up questions per frame")
    p.add_argument("--new-tokens", type=int, help="answer length in tokens (fixed)")
    p.add_argument("--sizes", default="smolvlm2-2.2b,qwen2.5-vl-3b",
                   help="GPU mode: architectures to build")
    p.add_argument("--device", default=None, help="GPU mode on another device (a dry run)")
    p.add_argument("--layers", type=int, default=None,
                   help="GPU mode: override the depth (a quick dry run)")
    p.add_argument("--hbm-gbs", type=float, default=None,
                   help="GPU mode: memory bandwidth in GB/s if the GPU is not known")
    p.add_argument("--max-image-pixels", type=int, default=512 * 512)
    p.add_argument("--size", default="", help="CPU mode: random weights in a real architecture's "
                                              "dimensions (smolvlm2-500m: the Balanced (CPU) "
                                              "preset's VLM)")
    p.add_argument("--variants", default="",
                   help="CPU mode with --size: fp32,int8 (default both)")
    return p.parse_args([a for a in rest if a != "--"])


def frames(count: int, seed: int = 0) -> list[np.ndarray]:
    """Synthetic 640x480 BGR camera frames with a sign to read (deterministic)."""
    import cv2

    rng = np.random.default_rng(seed)
    words = ("EXIT 12", "OPEN", "PLATFORM 3", "NO ENTRY", "CAFE", "STOP")
    out = []
    for i in range(count):
        base = np.linspace(40, 200, 640, dtype=np.float32)[None, :, None]
        img = np.clip(base + rng.normal(0, 12, (480, 640, 3)), 0, 255).astype(np.uint8)
        cv2.rectangle(img, (150, 150), (500, 300), (240, 240, 240), -1)
        cv2.putText(img, words[i % len(words)], (170, 245), cv2.FONT_HERSHEY_SIMPLEX, 1.6,
                    (20, 20, 20), 4, cv2.LINE_AA)
        out.append(img)
    return out


def _ocr():
    try:
        from vision.perception.analyze import Perception
    except ImportError:
        return None
    perception = Perception(ocr=True, faces=False, persons=False, labels=False)
    perception.load()
    return perception


def _engine_turn(engine, request, turn: int, m: dict[str, list[float]]) -> str:
    """Glimpse's engine: streamed, reusing the kept prefix on follow-ups."""
    from assistant.stage import CancelToken

    if turn == 0:  # the frame, looked at when the key is pressed (the answer stage's hook)
        t = time.perf_counter()
        engine.prepare_frame(request.frame)
        m["prepare_ms"].append(1000 * (time.perf_counter() - t))
    answer = "".join(engine.stream(request, CancelToken.never()))
    s = engine.last
    # The model's first token, as for HF eager's one-token call (with random weights the first
    # tokens can be ones that print nothing, so the first printed piece would measure the dice).
    (m["first_ms"] if turn == 0 else m["followup_ms"]).append(1000 * s.first_step_s)
    if s.new_tokens > 1 and s.last_step_s > s.first_step_s:
        m["decode_tps"].append((s.new_tokens - 1) / (s.last_step_s - s.first_step_s))
    m["reused_tokens"].append(s.reused_tokens)
    m["prompt_tokens"].append(s.prompt_tokens)
    return answer


def measure(engine, images: list[np.ndarray], new_tokens: int, followups: int,
            ocr=None, first_capture: float = 1000.0) -> dict[str, list[float]]:
    """Run the engine and HF eager generate on the same requests; times in ms. Frames get
    capture times from `first_capture` on: a warm-up run must use others, or the engine would
    take the measured frame for the warm-up's (its kept image prefix is keyed by capture)."""
    from assistant.events import Frame
    from assistant.ports import VlmRequest

    engine.min_new_tokens = new_tokens
    engine.max_new_tokens = new_tokens
    m: dict[str, list[float]] = {k: [] for k in (
        "preprocess_ms", "ocr_ms", "prepare_ms", "first_ms", "followup_ms", "decode_tps",
        "hf_first_ms", "hf_followup_ms", "hf_decode_tps", "reused_tokens", "prompt_tokens")}
    for index, image in enumerate(images):
        frame = Frame(image=image, captured_at=first_capture + index, source="bench")
        history: list[tuple[str, str]] = []
        for turn in range(1 + followups):
            request = VlmRequest(question=QUESTIONS[turn % len(QUESTIONS)], frame=frame,
                                 history=tuple(history), max_new_tokens=new_tokens)
            answers: list[str] = []
            runs = [lambda: answers.append(_engine_turn(engine, request, turn, m)),
                    lambda: hf_eager_turn(engine, request, turn, new_tokens, m)]
            # Alternate who goes first, so neither always inherits a cold or busy machine.
            for run in (runs if (index + turn) % 2 == 0 else runs[::-1]):
                run()
            history.append((request.question, answers[0]))
        if ocr is not None:
            t = time.perf_counter()
            ocr.analyze(image)
            m["ocr_ms"].append(1000 * (time.perf_counter() - t))
    return m


def _p50(values: list[float]) -> float | None:
    return round(report.pct(values, 50), 2) if values else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def summarize(m: dict[str, list[float]]) -> dict[str, Any]:
    s = {
        "first_token_ms_p50": _p50(m["first_ms"]),
        "followup_first_token_ms_p50": _p50(m["followup_ms"]),
        "tokens_per_s": _p50(m["decode_tps"]),
        "hf_eager_first_token_ms_p50": _p50(m["hf_first_ms"]),
        "hf_eager_followup_first_token_ms_p50": _p50(m["hf_followup_ms"]),
        "hf_eager_tokens_per_s": _p50(m["hf_decode_tps"]),
        "preprocess_ms_p50": _p50(m["preprocess_ms"]),
        "image_at_press_ms_p50": _p50(m["prepare_ms"]),
        "ocr_ms_p50": _p50(m["ocr_ms"]),
    }
    s["first_token_speedup"] = _ratio(s["hf_eager_first_token_ms_p50"], s["first_token_ms_p50"])
    s["followup_speedup"] = _ratio(s["hf_eager_followup_first_token_ms_p50"],
                                   s["followup_first_token_ms_p50"])
    s["tokens_per_s_ratio"] = _ratio(s["tokens_per_s"], s["hf_eager_tokens_per_s"])
    return s


def _rows(name: str, s: dict[str, Any]) -> list[list[Any]]:
    def f(v):
        return "n/a" if v is None else v

    return [[name, "Glimpse engine", f(s["image_at_press_ms_p50"]), f(s["first_token_ms_p50"]),
             f(s["followup_first_token_ms_p50"]), f(s["tokens_per_s"])],
            [name, "HF eager generate()", "-", f(s["hf_eager_first_token_ms_p50"]),
             f(s["hf_eager_followup_first_token_ms_p50"]), f(s["hf_eager_tokens_per_s"])]]


HEADERS = ["model", "engine", "image at the press ms p50", "first token ms p50",
           "follow-up first token ms p50", "decode tokens/s p50"]


def cpu_bench(args: argparse.Namespace, o: argparse.Namespace) -> int:
    import torch

    from vision.answer.vlm.engine import TransformersVlm

    if o.size:
        return cpu_size_bench(args, o)
    n_frames = o.frames or (2 if args.quick else 6)
    followups = o.followups if o.followups is not None else (1 if args.quick else 2)
    new_tokens = o.new_tokens or (8 if args.quick else 24)
    if o.model:
        from pathlib import Path

        if not (Path(o.model) / "config.json").is_file():
            raise GlimpseError(f"--model {o.model} is not a model folder (no config.json)",
                               "Give the folder of a downloaded image-text-to-text model, e.g. "
                               "a Hugging Face snapshot folder")
        path, what = o.model, f"model folder {o.model}"
    else:
        from ui.bench.kit.vlm_models import tiny_smolvlm

        path = str(tiny_smolvlm())
        what = ("tiny random-weight SmolVLM (2 layers, 64 px, seeded): the times show the "
                "engine's overhead and the follow-up saving, not a real model's speed")
    engine = TransformersVlm(path, device="cpu", max_new_tokens=new_tokens,
                             max_image_pixels=o.max_image_pixels)
    engine.load()
    images = frames(n_frames + 1)
    ocr = _ocr()
    measure(engine, images[:1], 2, 1, ocr, first_capture=0.0)  # warm-up: first calls allocate
    m = measure(engine, images[1:], new_tokens, followups, ocr)
    summary = summarize(m)
    summary.update(model=what, device="cpu", torch_threads=torch.get_num_threads(),
                   new_tokens=new_tokens, frames=n_frames, followups_per_frame=followups,
                   ocr="vision.perception.analyze (RapidOCR)" if ocr is not None else None)
    md = [f"# VLM benchmark (CPU, {n_frames} frames x {1 + followups} questions, "
          f"{new_tokens} tokens)", "", f"Model: {what}.", "",
          report.table(HEADERS, _rows(engine.name, summary)), "",
          f"Preprocessing p50: {summary['preprocess_ms_p50']} ms per frame; OCR p50: "
          f"{summary['ocr_ms_p50'] if ocr is not None else 'n/a (no local perception)'} ms.",
          f"Follow-up first token: {summary['followup_speedup']}x faster than HF eager "
          f"(prefix reuse: {int(np.median(m['reused_tokens'][1:] or [0]))} of "
          f"{int(np.median(m['prompt_tokens']))} prompt tokens from the kept cache)."]
    report.write(args.json, "vlm", summary, {"raw_ms": m}, "\n".join(md))
    return 0


def cpu_size_bench(args: argparse.Namespace, o: argparse.Namespace) -> int:
    """Random weights in a real architecture's dimensions on the CPU: float32 and int8 text
    decoder (the same seeded weights, built once per variant), the engine against HF eager."""
    import torch

    from ui.bench.kit import calibrate
    from ui.bench.kit.vlm_models import SIZES, random_vlm
    from vision.answer.vlm.engine import TransformersVlm
    from vision.answer.vlm.loading import load_processor
    from vision.answer.vlm.loading import quantize_for_cpu

    if o.size not in SIZES:
        raise GlimpseError(f"There is no architecture size '{o.size}'",
                           f"Choose one of: {', '.join(SIZES)}")
    variants = [v.strip() for v in (o.variants or "fp32,int8").split(",") if v.strip()]
    n_frames = o.frames or 2
    followups = o.followups if o.followups is not None else (0 if args.quick else 1)
    new_tokens = o.new_tokens or (8 if args.quick else 16)
    images = frames(n_frames + 1)
    summaries, raw, rows = {}, {}, []
    for variant in variants:
        folder, model = random_vlm(o.size, "cpu", torch.float32)
        if variant == "int8":
            quantize_for_cpu(model)
        elif variant != "fp32":
            raise GlimpseError(f"Unknown variant '{variant}'", "Use fp32 and/or int8")
        engine = TransformersVlm.from_model(model, load_processor(folder), device="cpu",
                                            dtype=torch.float32, max_new_tokens=new_tokens,
                                            max_image_pixels=o.max_image_pixels,
                                            name=f"{o.size}-{variant}")
        measure(engine, images[:1], 2, 0, first_capture=0.0)  # warm-up: first calls allocate
        m = measure(engine, images[1:], new_tokens, followups)
        summaries[variant], raw[variant] = summarize(m), m
        rows += _rows(f"{o.size} {variant}", summaries[variant])
        del engine, model
        gc.collect()
    cal = calibrate.calibration()
    summary = {"size": o.size, "variants": summaries, "calibration": cal,
               "torch_threads": torch.get_num_threads(), "new_tokens": new_tokens,
               "frames": n_frames, "followups_per_frame": followups,
               "max_image_pixels": o.max_image_pixels}
    md = [f"# VLM benchmark (CPU, random weights in {o.size} dimensions, {n_frames} frames x "
          f"{1 + followups} questions, {new_tokens} tokens)", "",
          report.table(HEADERS, rows), "",
          "The image at the press: the vision encoder and the prompt up to the question, run when "
          "the key is pressed (hidden while the question is spoken if that takes longer). First token: "
          "from the question, with the image ready; HF eager: everything from the question.", "",
          calibrate.calibration_line(cal)]
    report.write(args.json, "vlm", summary, {"raw_ms": raw}, "\n".join(md))
    return 0


def gpu_bench(args: argparse.Namespace, o: argparse.Namespace) -> int:
    import torch

    from ui.bench.kit.vlm_models import random_vlm
    from vision.answer.vlm.engine import TransformersVlm
    from vision.answer.vlm.loading import load_processor

    device = o.device or "cuda"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise GlimpseError("--gpu needs a CUDA GPU, and torch sees none",
                           "Run it on a machine with an NVIDIA GPU and a CUDA build of torch")
    dtype = torch.bfloat16 if (not device.startswith("cuda") or
                               torch.cuda.is_bf16_supported()) else torch.float16
    if not device.startswith("cuda"):
        dtype = torch.float32
    gpu_name = torch.cuda.get_device_name(0) if device.startswith("cuda") else device
    bandwidth = hbm_bytes_per_s(gpu_name, o.hbm_gbs)
    n_frames = o.frames or (2 if args.quick else 5)
    followups = o.followups if o.followups is not None else (1 if args.quick else 2)
    new_tokens = o.new_tokens or (32 if args.quick else 128)
    images = frames(n_frames + 1)
    results: dict[str, Any] = {}
    rows: list[list[Any]] = []
    bound_lines = []
    for size in [s.strip() for s in o.sizes.split(",") if s.strip()]:
        folder, model = random_vlm(size, device, dtype, layers=o.layers)
        engine = TransformersVlm.from_model(model, load_processor(folder), device=device,
                                            dtype=dtype, max_image_pixels=o.max_image_pixels,
                                            max_new_tokens=new_tokens)
        measure(engine, images[:1], 4, 1, first_capture=0.0)  # warm-up (kernels, allocator)
        m = measure(engine, images[1:], new_tokens, followups)
        s = summarize(m)
        per_token = decode_bytes_per_token(model)
        s["weights_read_per_token_gb"] = round(per_token / 1e9, 3)
        s["params_b"] = round(sum(p.numel() for p in model.parameters()) / 1e9, 3)
        if bandwidth:
            s["bandwidth_bound_tokens_per_s"] = round(bandwidth / per_token, 1)
            s["fraction_of_bound"] = _ratio(s["tokens_per_s"], s["bandwidth_bound_tokens_per_s"])
            bound_lines.append(f"{size}: decode {s['tokens_per_s']} tokens/s = "
                               f"{s['fraction_of_bound']} of the bandwidth bound "
                               f"{s['bandwidth_bound_tokens_per_s']} tokens/s "
                               f"({s['weights_read_per_token_gb']} GB read per token)")
        s["prompt_tokens_p50"] = _p50(m["prompt_tokens"])
        results[size] = {"summary": s, "raw_ms": m}
        rows += _rows(size, s)
        del engine, model
        gc.collect()
        if device.startswith("cuda"):
            torch.cuda.empty_cache()
    first = next(iter(results.values()))["summary"] if results else {}
    summary = {k: first.get(k) for k in ("first_token_ms_p50", "tokens_per_s",
                                         "hf_eager_first_token_ms_p50", "ocr_ms_p50",
                                         "followup_first_token_ms_p50",
                                         "hf_eager_followup_first_token_ms_p50",
                                         "hf_eager_tokens_per_s", "fraction_of_bound")}
    summary.update(device=gpu_name, dtype=str(dtype).replace("torch.", ""),
                   models={k: v["summary"] for k, v in results.items()},
                   hbm_gb_per_s=bandwidth / 1e9 if bandwidth else None,
                   new_tokens=new_tokens, layers_override=o.layers)
    md = [f"# VLM benchmark (GPU {gpu_name}, {summary['dtype']}, random weights in real "
          f"architecture sizes, {new_tokens} decoded tokens)", "",
          report.table(HEADERS, rows), ""] + bound_lines
    report.write(args.json, "vlm", summary, {"per_model": results}, "\n".join(md))
    return 0


def main(args: argparse.Namespace, config: Config) -> int:
    o = options(list(getattr(args, "rest", None) or []))
    if args.gpu:
        return gpu_bench(args, o)
    return cpu_bench(args, o)
