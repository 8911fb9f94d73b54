"""`glimpse bench e2e` with a preset whose image-text model is not on this computer runs that
model in its real dimensions with seeded random weights (here the tiny SmolVLM stands for the
size, so the test is quick) and speaks a real sentence at the pace of its tokens."""
from __future__ import annotations

import numpy as np

from assistant import events as ev
from assistant.config import Config
from assistant.ports import VlmRequest
from assistant.stage import CancelToken
from ui.bench import e2e
from ui.presets import PRESETS


def test_a_missing_local_vlm_is_measured_in_its_real_dimensions(monkeypatch, tmp_path):
    config = PRESETS["balanced-cpu"].apply(Config()).with_value("models.cache_dir", str(tmp_path))
    assert config.vlm.int8, "the Balanced (CPU) preset runs the text decoder in int8"
    monkeypatch.setitem(e2e.STAND_IN_SIZES, config.vlm.model, "smolvlm-tiny")
    engine, what = e2e._stand_in_vlm(config, answer_tokens=12)
    assert engine is not None and "random weights" in what and "int8" in what
    engine.load()
    frame = ev.Frame(image=np.full((64, 64, 3), 128, np.uint8), captured_at=1.0, source="t")
    engine.prepare_frame(frame)
    words = "".join(engine.stream(VlmRequest(question="What is this?", frame=frame),
                                  CancelToken.never())).split()
    assert 4 <= len(words) <= 12  # the fixed answer's words, about 1.3 tokens each
    assert words[:3] == ["A", "cup", "of"]


def test_the_describer_and_remote_presets_need_no_stand_in():
    small = PRESETS["small-cpu"].apply(Config())
    assert e2e._stand_in_vlm(small) == (None, "")
    remote = Config().with_value("vlm.backend", "remote")
    assert e2e._stand_in_vlm(remote) == (None, "")
