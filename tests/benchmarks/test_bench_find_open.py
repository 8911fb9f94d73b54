"""The open-vocabulary timing of `glimpse bench find -- --open` runs its real code path: random
OWLv2 and CLIP checkpoints are built, loaded by the product's finder and timed. Here at 1/16 of
the widths and depths (the speed figure itself comes from the full sizes in the benchmark)."""
from __future__ import annotations

import numpy as np
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_open_models_are_built_loaded_and_timed(tmp_path):
    from ui.bench import find_open

    image = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    (row,) = find_open.measure(image, 1, devices=("cpu",), cache=tmp_path, scale=16)
    assert row["device"] == "cpu"
    for key in ("detector_ms_p50", "clip_yes_no_ms_p50", "clip_embed_ms_p50"):
        assert row[key] > 0, key
    owl, clip = find_open.build(tmp_path, scale=16)
    assert (owl / "config.json").is_file() and (clip / "config.json").is_file()
