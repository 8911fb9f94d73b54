"""`glimpse bench find --quick` runs end to end and writes the summary with its baselines."""
from __future__ import annotations

import json

import pytest

# The real classifier and text reader over twelve photos, several times: minutes on two busy cores.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def test_bench_find_quick_writes_the_summary(tmp_path):
    from ui.cli import main

    out = tmp_path / "bench-find.json"
    assert main(["bench", "find", "--quick", "--json", str(out)]) == 0
    document = json.loads(out.read_text())
    summary = document["summary"]
    for key in ("calibration_classifier_ms_p50", "finder_ms_p50", "watch_ms_p50",
                "whole_picture_ms_p50", "index_photos_per_s", "brute_force_query_ms",
                "index_query_ms"):
        assert summary[key] > 0, key
    assert summary["index_query_ms"] < summary["brute_force_query_ms"]
    assert all(a["answer"].startswith("Yes, I see") for a in document["answers"])
    # Watch mode in the pipeline saw the cup after it appeared, and said so.
    (watch,) = document["watch"]
    assert 0 < watch["cut_to_sighting_s"] <= watch["cut_to_first_speech_s"]
    assert watch["said"].startswith(("I see a cup", "I think I see a cup"))
    assert out.with_suffix(".md").exists()
