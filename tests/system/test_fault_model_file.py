"""Fault matrix: a model file truncated or replaced by garbage. One line names the file and the
fix (`glimpse models verify`, `glimpse models pull`); the other stages keep working."""
from __future__ import annotations

import time

import numpy as np
import pytest

import torch  # required: a broken install fails here, never skips
import whisper  # noqa: F401 - required: a broken install fails here, never skips

from assistant import events as ev  # noqa: E402
from assistant.config import Config  # noqa: E402
from tests.support.fakes import RecordingSpeaker, ScriptedTts, ScriptedVlm  # noqa: E402
from ui.bootstrap import Parts, bootstrap  # noqa: E402


def garbage(path):
    path.write_bytes(np.random.default_rng(7).bytes(64 * 1024))  # seeded: same bytes every run


def truncated(path):
    """A real checkpoint in torch's zip format, cut in the middle as an interrupted copy is."""
    state = {f"blocks.{i}.weight": torch.randn(256, 256) for i in range(4)}
    torch.save({"dims": {"n_mels": 80}, "model_state_dict": state}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("damage", [garbage, truncated], ids=["garbage", "truncated"])
def test_a_damaged_speech_model_is_named_and_the_rest_still_answers(tmp_path, damage):
    path = tmp_path / "tiny.en.pt"
    damage(path)
    config = (Config().with_value("asr.engine", "openai-whisper").with_value("asr.model", str(path))
              .with_value("camera.source", "").with_value("models.offline", True))
    pipeline = bootstrap(config, parts=Parts(audio_in=False), vlm=ScriptedVlm(), tts=ScriptedTts(),
                         speaker=RecordingSpeaker())
    pipeline.start()
    try:
        assert pipeline.wait_ready(60)
        pipeline.submit(ev.AskAudio(samples=np.zeros(16000, np.float32), sample_rate=16000))
        pipeline.submit(ev.Ask(text="what is in front of me?"))
        errors, ended = [], {}
        deadline = time.monotonic() + 30
        while len(ended) < 2 and time.monotonic() < deadline:
            try:
                event = pipeline.events.get(timeout=0.2)
            except Exception:  # noqa: BLE001 - queue.Empty: keep waiting until the deadline
                continue
            if isinstance(event, ev.ErrorEvent):
                errors.append(event)
            elif isinstance(event, ev.TurnEnded):
                ended[event.turn_id] = event
    finally:
        pipeline.stop()
    asr_errors = [e for e in errors if e.stage == ev.StageName.ASR]
    assert asr_errors, errors
    message = asr_errors[0].message
    assert "\n" not in message and str(path) in message
    assert "is damaged or not a model file" in message
    assert "glimpse models verify" in message and "glimpse models pull" in message
    assert "weights_only" not in message and asr_errors[0].needs_action
    # The answer engine and speech were untouched: the typed question is answered.
    assert ended[2].answer == "I see a cat on a mat. It is asleep." and not ended[2].cancelled
