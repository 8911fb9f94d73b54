"""`glimpse bench e2e --gpu` on a CUDA GPU: the default preset's turns, floors and video memory.
Skipped with a reason without a GPU."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

import torch  # a core dependency: a broken install fails here, it is not skipped

pytestmark = [pytest.mark.gpu, pytest.mark.slow,
              pytest.mark.skipif(not torch.cuda.is_available(),
                                 reason="needs a CUDA GPU; torch.cuda.is_available() is False")]


def test_default_gpu_preset_runs_and_fits_an_8gb_card(tmp_path):
    out = tmp_path / "e2e-gpu.json"
    code = "import sys; from ui.cli import main; sys.exit(main(sys.argv[1:]))"
    run = subprocess.run([sys.executable, "-c", code, "--offline", "bench", "e2e", "--gpu",
                          "--quick", "--json", str(out), "--", "--presets", "balanced-gpu"],
                         capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(out.read_text())["summary"]
    preset = summary["presets"]["balanced-gpu"]
    assert preset["memory"]["vram_peak_allocated_gb"] > 4  # the weights alone are ~5 GB
    assert summary["default_preset_fits_8gb"] is True, preset["memory"]
    assert preset["floors_ms"]["release_to_first_audio"] > 0
    assert out.with_suffix(".png").exists()
