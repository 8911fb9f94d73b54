"""The VLM prompt, image budget, remote request body and backend choice (no model needed)."""
from __future__ import annotations

import base64

import cv2
import numpy as np
import pytest

from assistant.config import Config
from assistant.errors import ConfigError
from assistant.events import Frame, Mode
from assistant.ports import VlmRequest
from assistant.stage import CancelToken, Generation
from tests.support.fakes import ScriptedVlm
from vision.answer import choice as engines
from vision.answer.vlm import engine as vlm
from vision.answer.vlm import openai_server as remote
from vision.answer.vlm import prompts as chat
from vision.answer.vlm.streaming import generation_error


def frame(w=640, h=480, t=1.0):
    return Frame(image=np.full((h, w, 3), 128, np.uint8), captured_at=t, source="test")


def test_image_comes_first_and_history_follows():
    req = VlmRequest(question="and now?", frame=frame(), history=(("what is it?", "a cup"),
                                                                   ("colour?", "red")))
    msgs = chat.build_messages(req)
    assert [m["role"] for m in msgs] == ["user", "assistant", "user", "assistant", "user"]
    assert msgs[0]["content"][0] == {"type": "image"}
    assert "what is it?" in msgs[0]["content"][1]["text"]
    assert msgs[1]["content"][0]["text"] == "a cup"
    assert msgs[-1]["content"][0]["text"] == "and now?"


def test_text_only_request_has_no_image():
    msgs = chat.build_messages(VlmRequest(question="hello"), with_image=False)
    assert all(part["type"] == "text" for part in msgs[0]["content"])


def test_grounding_goes_into_the_prompt():
    text = chat.user_text(VlmRequest(question="what does it say?", grounding="EXIT 12"))
    assert "Text visible in the image (OCR): EXIT 12" in text
    assert "Do not invent other text" in text
    perception_style = "Text found by OCR, in reading order:\n- \"EXIT\""
    assert perception_style in chat.grounding_block(perception_style)


@pytest.mark.parametrize("mode,word", [(Mode.READ, "text"), (Mode.DESCRIBE, "blind")])
def test_modes_pick_their_instructions(mode, word):
    assert word in chat.user_text(VlmRequest(question="", mode=mode)).lower()


def test_frame_is_downscaled_to_the_pixel_budget_keeping_aspect():
    img = vlm.frame_to_pil(np.zeros((1080, 1920, 3), np.uint8), 512 * 512)
    assert img.size[0] * img.size[1] <= 512 * 512
    assert abs(img.size[0] / img.size[1] - 1920 / 1080) < 0.02
    small = vlm.frame_to_pil(np.zeros((100, 200, 3), np.uint8), 512 * 512)
    assert small.size == (200, 100)


def test_bgr_becomes_rgb():
    bgr = np.zeros((4, 4, 3), np.uint8)
    bgr[..., 0] = 255  # blue in OpenCV's order
    assert vlm.frame_to_pil(bgr, 10**6).getpixel((0, 0)) == (0, 0, 255)


def test_remote_body_has_image_data_url_and_stream():
    eng = remote.RemoteVlm("http://127.0.0.1:9/v1", "m", max_image_pixels=64 * 64)
    body = eng.body(VlmRequest(question="what is it?", frame=frame(), grounding="STOP"))
    assert body["stream"] is True and body["model"] == "m"
    user = body["messages"][1]["content"]
    url = [p for p in user if p["type"] == "image_url"][0]["image_url"]["url"]
    assert url.startswith("data:image/jpeg;base64,")
    jpeg = cv2.imdecode(np.frombuffer(base64.b64decode(url.split(",", 1)[1]), np.uint8), 1)
    assert jpeg.shape[0] * jpeg.shape[1] <= 64 * 64
    assert "STOP" in user[0]["text"] and "what is it?" in user[0]["text"]


@pytest.mark.parametrize("url,path", [("http://h:1/v1", "/v1/chat/completions"),
                                      ("http://h:1", "/v1/chat/completions"),
                                      ("https://h/api/v1/", "/api/v1/chat/completions"),
                                      ("http://h/v1/chat/completions", "/v1/chat/completions")])
def test_remote_endpoint_path(url, path):
    assert remote.RemoteVlm(url)._path == path


def test_remote_rejects_a_non_http_url():
    with pytest.raises(ConfigError, match="not an http"):
        remote.RemoteVlm("localhost:8000")


def test_safe_url_drops_credentials():
    assert remote.safe_url("http://user:secret@host:8/v1") == "http://host:8/v1"


def test_auto_prefers_remote_then_local_then_describer(tmp_path):
    cfg = Config().with_value("vlm.remote_url", "http://127.0.0.1:1/v1")
    assert engines.choose(cfg)[0] == "remote"
    (tmp_path / "config.json").write_text("{}")
    cfg = Config().with_value("vlm.model", str(tmp_path))
    assert engines.choose(cfg)[0] == "local"
    cfg = Config().with_value("vlm.model", str(tmp_path / "missing"))
    backend, why = engines.choose(cfg)
    assert backend == "describer" and "glimpse models pull hf:" in why


def test_explicit_backends():
    assert engines.choose(Config().with_value("vlm.backend", "describer"))[0] == "describer"
    eng = engines.from_config(Config().with_value("vlm.backend", "remote")
                              .with_value("vlm.remote_url", "http://127.0.0.1:1/v1"))
    assert "remote" in eng.name


def test_remote_backend_needs_a_url():
    with pytest.raises(ConfigError, match="remote_url"):
        engines.from_config(Config().with_value("vlm.backend", "remote"))


class _Perception:
    def __init__(self):
        self.calls = 0

    def load(self):
        pass

    def analyze(self, image):
        self.calls += 1

        class R:
            def grounding_text(self):
                return "Text found by OCR: EXIT"
        return R()


def test_grounded_wrapper_adds_perception_once_per_frame():
    inner, perception = ScriptedVlm(), _Perception()
    eng = engines.Grounded(inner, perception)
    f = frame()
    for q in ("a", "b"):
        list(eng.stream(VlmRequest(question=q, frame=f), CancelToken.never()))
    list(eng.stream(VlmRequest(question="c"), CancelToken.never()))
    assert [r.grounding for r in inner.requests] == ["Text found by OCR: EXIT"] * 2 + [""]
    assert perception.calls == 1


def test_grounded_prepares_the_frame_then_lets_the_engine_look_at_it():
    class Preparing(ScriptedVlm):
        def __init__(self):
            super().__init__()
            self.frames = []

        def prepare_frame(self, frame, cancel=None, history=()):
            self.frames.append(frame)

    inner, perception = Preparing(), _Perception()
    eng = engines.Grounded(inner, perception)
    f = frame()
    eng.prepare_frame(f)
    assert perception.calls == 1 and inner.frames == [f]
    list(eng.stream(VlmRequest(question="a", frame=f), CancelToken.never()))
    assert perception.calls == 1  # done at release, not again for the question
    # A wrapped engine without a look of its own gets the port's default (nothing).
    engines.Grounded(ScriptedVlm(), _Perception()).prepare_frame(f)
    # A cancelled look does nothing at all.
    generation = Generation()
    stale = CancelToken(generation, generation.value)
    generation.bump()
    eng2 = engines.Grounded(inner, perception)
    eng2.prepare_frame(frame(), cancel=stale)
    assert perception.calls == 1 and inner.frames == [f]


class _Broken(_Perception):
    def analyze(self, image):
        raise RuntimeError("OCR model missing")


def test_a_failing_perception_does_not_block_the_answer(caplog):
    inner = ScriptedVlm()
    eng = engines.Grounded(inner, _Broken())
    assert "".join(eng.stream(VlmRequest(question="q", frame=frame()), CancelToken.never()))
    assert inner.requests[0].grounding == ""
    assert "OCR model missing" in eng.warnings[0] and "OCR model missing" in caplog.text


def test_grounding_can_be_turned_off():
    cfg = (Config().with_value("vlm.backend", "remote")
           .with_value("vlm.remote_url", "http://127.0.0.1:1/v1")
           .with_value("vlm.grounding", False))
    assert isinstance(engines.from_config(cfg), remote.RemoteVlm)


def test_auto_without_a_model_uses_the_describer_and_says_how_to_get_one(tmp_path):
    cfg = Config().with_value("vlm.model", str(tmp_path / "missing"))
    eng = engines.from_config(cfg)
    assert eng.name == "describer"
    assert "glimpse models pull" in eng.warnings[0]


class _NoModels(_Perception):
    def load(self):
        raise FileNotFoundError("rapidocr models missing")


def test_perception_that_cannot_load_leaves_the_engine_working():
    inner = ScriptedVlm()
    eng = engines.Grounded(inner, _NoModels())
    eng.load()
    assert "".join(eng.stream(VlmRequest(question="q", frame=frame()), CancelToken.never()))
    assert inner.requests[0].grounding == "" and "rapidocr models missing" in eng.warnings[0]


def test_out_of_memory_while_answering_says_what_to_lower():
    import torch

    from assistant.errors import ModelError

    err = generation_error(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate"),
                                "hf:x/y")
    assert isinstance(err, ModelError) and err.needs_action
    assert "max_image_pixels" in str(err) and "smaller" in str(err)
    other = ValueError("shape mismatch")
    assert generation_error(other, "m") is other


@pytest.mark.parametrize("mode,name", [(Mode.ASK, "ask"), (Mode.READ, "read"),
                                       (Mode.DESCRIBE, "describe_normal")])
def test_instructions_are_the_shipped_prompt_files(mode, name, monkeypatch, tmp_path):
    from vision.answer.vlm import prompts

    monkeypatch.setenv("GLIMPSE_CONFIG_DIR", str(tmp_path))  # no user overrides
    shipped = (prompts.SHIPPED / f"{name}.txt").read_text(encoding="utf-8").strip()
    assert chat.instructions(mode) == shipped
