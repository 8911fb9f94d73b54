"""`glimpse bench vlm --quick` runs on CPU with the tiny model and writes the summary keys."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

KEYS = ("first_token_ms_p50", "tokens_per_s", "hf_eager_first_token_ms_p50", "ocr_ms_p50",
        "followup_first_token_ms_p50", "hf_eager_followup_first_token_ms_p50",
        "preprocess_ms_p50", "followup_speedup")


@pytest.mark.slow
def test_quick_cpu_bench_writes_the_summary(tmp_path):
    out = tmp_path / "vlm.json"
    run = subprocess.run([sys.executable, "-m", "ui.cli", "bench", "vlm", "--quick",
                          "--json", str(out), "--", "--frames", "1", "--new-tokens", "4"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    doc = json.loads(out.read_text())
    summary = doc["summary"]
    for key in KEYS:
        assert key in summary, key
    assert summary["first_token_ms_p50"] > 0 and summary["tokens_per_s"] > 0
    assert summary["hf_eager_first_token_ms_p50"] > 0
    assert "tiny random-weight" in summary["model"]
    assert "| Glimpse engine |" in run.stdout and "HF eager" in run.stdout
    assert out.with_suffix(".md").is_file()
