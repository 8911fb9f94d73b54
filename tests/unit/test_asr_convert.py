"""The CTranslate2 -> openai-whisper converter on the real packaged weights and on bad input."""
from __future__ import annotations

import pytest
import torch

from assistant.errors import ModelError
from audio.asr.convert import convert_ct2_to_openai, model_bin_parts
from tests.support import whisper as sw


def test_tiny_en_checkpoint_loads_with_weights_only():
    ck = torch.load(sw.tiny_en_checkpoint(), weights_only=True)
    assert ck["dims"]["n_vocab"] == 51864  # English-only vocabulary
    assert ck["dims"]["n_audio_layer"] == 4
    sd = ck["model_state_dict"]
    assert "encoder.blocks.0.attn.key.bias" not in sd
    assert sd["encoder.blocks.0.attn.query.weight"].shape == (384, 384)
    assert sd["decoder.blocks.3.cross_attn.value.weight"].dtype == torch.float16


def test_split_base_model_is_read_as_one_file():
    parts = model_bin_parts(sw.base_ct2_parts_dir())
    assert [p.name for p in parts] == ["model.bin.part1", "model.bin.part2"]
    ck = torch.load(sw.base_checkpoint(), weights_only=True)
    assert ck["dims"]["n_vocab"] == 51865 and ck["dims"]["n_text_layer"] == 6


def test_missing_model_names_the_folder(tmp_path):
    with pytest.raises(ModelError, match="No Whisper model file"):
        convert_ct2_to_openai(tmp_path, tmp_path / "out.pt")


def test_truncated_model_is_a_clear_error(tmp_path):
    src = sw.tiny_en_ct2() / "model.bin"
    (tmp_path / "model.bin").write_bytes(src.read_bytes()[:200_000])
    with pytest.raises(ModelError, match="truncated"):
        convert_ct2_to_openai(tmp_path, tmp_path / "out.pt")
    assert not (tmp_path / "out.pt").exists()
