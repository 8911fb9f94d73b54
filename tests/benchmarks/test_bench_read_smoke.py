"""`glimpse bench read --quick` on a small slice (one turned page, the real photos) runs end to
end with its peers and writes the JSON and Markdown the release notes read."""
from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


def test_bench_read_slice_writes_the_summary(tmp_path):
    from ui.cli import main

    out = tmp_path / "bench-read.json"
    assert main(["bench", "read", "--quick", "--json", str(out),
                 "--only", "rotated,real photos"]) == 0
    document = json.loads(out.read_text())
    summary = document["summary"]
    for key in ("wer", "cer", "tesseract_wer", "rapidocr_wer", "ms_per_image_p50",
                "calibration_rec_pass_ms"):
        assert key in summary
    assert summary["images"] == 3
    assert summary["ms_per_image_p50"] > 0 and summary["calibration_rec_pass_ms"] > 0
    # the goals of issue 14 on this slice: turned pages and real photos
    assert document["classes"]["rotated"]["wer"] <= 0.10
    assert summary["wer"] <= summary["rapidocr_wer"]
    if summary["tesseract_wer"] == summary["tesseract_wer"]:  # not NaN: Tesseract installed
        assert summary["wer"] <= summary["tesseract_wer"]
    assert "| rotated |" in out.with_suffix(".md").read_text()


def test_bench_read_spacing_compares_the_three_ways(tmp_path):
    from ui.cli import main

    out = tmp_path / "bench-read.json"
    assert main(["bench", "read", "--quick", "--spacing", "--json", str(out),
                 "--only", "upright"]) == 0
    document = json.loads(out.read_text())
    assert set(document["summary"]["spacing_wer"]) == {"ink", "dictionary", "none"}
    assert "spaces: dictionary WER" in out.with_suffix(".md").read_text()
