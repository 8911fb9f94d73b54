"""`glimpse bench claims` on a part of the held-out half, with the real weights (no mocks): the
offline path's yes and no must each be right at least 95 % of the time, and it must answer at
least half of the questions; what it says must be what its detector decided."""
from __future__ import annotations

import json

import pytest

# The real classifier, face and people detectors and reader on eight photos: about a minute.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_bench_claims_on_eight_held_out_photos_meets_the_goals(tmp_path):
    from ui.cli import main

    out = tmp_path / "bench-claims.json"
    assert main(["--offline", "bench", "claims", "--quick", "--json", str(out), "--",
                 "--sample", "8"]) == 0
    document = json.loads(out.read_text())
    summary = document["summary"]
    assert summary["heldout_questions"] >= 40
    assert summary["spoken_disagrees_with_verdict"] == 0
    assert summary["heldout_precision_yes"] >= 0.95, document["heldout"]["overall"]
    assert summary["heldout_precision_no"] >= 0.95, document["heldout"]["overall"]
    assert summary["heldout_coverage"] >= 0.50, document["heldout"]["overall"]
    assert summary["meets_goals"]
    assert {a["half"] for a in document["answers"]} == {"B"}
    assert out.with_suffix(".md").exists()
