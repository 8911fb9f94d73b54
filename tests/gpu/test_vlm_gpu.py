"""The VLM engine and its benchmark on a CUDA GPU (bf16). Skipped with a reason elsewhere."""
from __future__ import annotations

import json
import subprocess
import sys
import threading

import numpy as np
import pytest

import torch  # a core dependency: a broken install fails here, it is not skipped

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(),
                                 reason="needs a CUDA GPU; torch.cuda.is_available() is False")]


def _frame(t=1.0):
    from assistant.events import Frame

    rng = np.random.default_rng(0)
    return Frame(image=rng.integers(0, 255, (480, 640, 3), dtype=np.uint8), captured_at=t)


@pytest.fixture(scope="module")
def engine():
    from tests.support.vlm import tiny_smolvlm
    from vision.answer.vlm.engine import TransformersVlm

    eng = TransformersVlm(str(tiny_smolvlm()), device="auto", dtype="auto", max_new_tokens=16)
    eng.load()
    return eng


def test_loads_on_cuda_in_half_precision(engine):
    assert engine.device == "cuda"
    assert engine.dtype in (torch.bfloat16, torch.float16)
    assert next(engine.model.parameters()).is_cuda


def test_streams_and_reuses_the_prefix_on_cuda(engine):
    from assistant.ports import VlmRequest
    from assistant.stage import CancelToken

    calls = []
    handle = engine.vision_module.register_forward_hook(lambda *a: calls.append(1))
    try:
        frame = _frame()
        first = "".join(engine.stream(VlmRequest(question="What?", frame=frame),
                                      CancelToken.never()))
        follow = "".join(engine.stream(VlmRequest(question="And?", frame=frame,
                                                  history=(("What?", first),)),
                                       CancelToken.never()))
    finally:
        handle.remove()
    assert first and follow and len(calls) == 1 and engine.last.reused_tokens > 0


def test_cancel_on_cuda_stops_at_the_running_step(engine):
    from assistant.ports import VlmRequest
    from assistant.stage import CancelToken, Generation

    generation = Generation()
    engine.max_new_tokens = 4000
    try:
        at_cancel = []
        for index, _ in enumerate(engine.stream(
                VlmRequest(question="Go on.", frame=_frame(2.0), max_new_tokens=4000),
                CancelToken(generation, 0))):
            if index == 2:
                t = threading.Thread(target=lambda: (generation.bump(),
                                                     at_cancel.append(engine.last.new_tokens)))
                t.start()
                t.join()
    finally:
        engine.max_new_tokens = 16
    assert at_cancel and engine.last.cancelled
    assert engine.last.new_tokens <= at_cancel[0] + 1, (at_cancel, engine.last.new_tokens)


def test_gpu_bench_quick_writes_the_summary(tmp_path):
    out = tmp_path / "vlm-gpu.json"
    run = subprocess.run([sys.executable, "-m", "ui.cli", "bench", "vlm", "--gpu", "--quick",
                          "--json", str(out), "--", "--frames", "1", "--followups", "1",
                          "--new-tokens", "16", "--layers", "2"],
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(out.read_text())["summary"]
    for key in ("first_token_ms_p50", "tokens_per_s", "hf_eager_first_token_ms_p50",
                "ocr_ms_p50"):
        assert key in summary
    assert set(summary["models"]) == {"smolvlm2-2.2b", "qwen2.5-vl-3b"}
