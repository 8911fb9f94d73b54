"""A Whisper checkpoint replaced by garbage is always called damaged, whatever the bytes.

Unpickling random bytes fails in many ways (UnpicklingError, KeyError from a random memo index,
EOFError, TypeError from a stray object...): the user must get the same message, naming the file
and the fix, for each of them."""
from __future__ import annotations

import numpy as np
import pytest

import torch  # noqa: F401 - required: a broken install fails here, never skips
import whisper  # noqa: F401 - required: a broken install fails here, never skips

from assistant.errors import ModelError  # noqa: E402
from audio.asr.engines import OpenAIWhisperEngine  # noqa: E402


@pytest.mark.parametrize("seed", range(40))
def test_any_garbage_is_named_damaged(tmp_path, seed):
    path = tmp_path / "tiny.en.pt"
    rng = np.random.default_rng(seed)
    # pickle's opcodes start half of the files, zip's magic none: both loaders get exercised
    head = bytes([0x80, 2]) if seed % 2 else b""
    path.write_bytes(head + rng.bytes(int(rng.integers(1, 64 * 1024))))
    engine = OpenAIWhisperEngine(path, device="cpu")
    with pytest.raises(ModelError) as caught:
        engine._open(path)
    message = caught.value.message
    assert f"{path} is damaged or not a model file" in message, message
    assert "glimpse models verify" in message and "glimpse models pull" in message
    assert "weights_only" not in message and caught.value.needs_action


def test_an_unreadable_file_is_not_called_damaged(tmp_path):
    path = tmp_path / "tiny.en.pt"
    path.mkdir()  # a folder where the file should be: reading it fails with an OSError
    engine = OpenAIWhisperEngine(path, device="cpu")
    with pytest.raises(ModelError) as caught:
        engine._open(path)
    assert "could not be read" in caught.value.message and "damaged" not in caught.value.message
