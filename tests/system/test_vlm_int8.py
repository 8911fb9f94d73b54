"""int8 CPU VLM (vision.answer.vlm.loading.quantize_for_cpu: the text decoder's and the vision
encoder's Linear layers) on tiny random-weight models of real architectures (SmolVLM / Idefics3
+ Llama, Qwen2.5-VL + Qwen2).

Tolerance, stated: the largest logit difference to float32 is at most 5% of the largest float32
logit, and the top token agrees at 90% of the positions at least (random weights make
near-ties). Measured: text only, 24 random tokens, about 3% and 23 of 24; a photo and a
question, 3.3% and 95% (SmolVLM), 4.0% and 95% (Qwen2.5-VL)."""
from __future__ import annotations

import copy

import pytest
import torch
from transformers import AutoModelForImageTextToText

from tests.support.vlm import tiny_qwen25vl, tiny_smolvlm
from vision.answer.vlm.engine import TransformersVlm
from vision.answer.vlm.loading import quantize_for_cpu, quantize_text_decoder

TINY = {"smolvlm": tiny_smolvlm, "qwen25vl": tiny_qwen25vl}


@pytest.mark.parametrize("arch", sorted(TINY))
def test_int8_logits_are_close_to_float32(arch):
    model = AutoModelForImageTextToText.from_pretrained(TINY[arch](), dtype=torch.float32).eval()
    quantized = copy.deepcopy(model)
    replaced = quantize_text_decoder(quantized)
    assert replaced > 0
    decoder = getattr(quantized.model, "text_model", None) or quantized.model.language_model
    assert not any(isinstance(m, torch.nn.Linear) for m in decoder.modules())
    vocab = model.config.get_text_config().vocab_size
    ids = torch.randint(5, vocab - 5, (1, 24), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ref, got = model(input_ids=ids).logits, quantized(input_ids=ids).logits
    assert float((ref - got).abs().max()) <= 0.05 * float(ref.abs().max())
    assert float((ref.argmax(-1) == got.argmax(-1)).float().mean()) >= 0.9
    # quantize_text_decoder alone leaves the vision encoder as it is.
    vision = [m for n, m in quantized.named_modules() if "vision" in n or "visual" in n]
    assert vision and not any(isinstance(m, torch.ao.nn.quantized.dynamic.Linear)
                              for m in vision)


def test_engine_with_int8_loads_and_answers():
    engine = TransformersVlm(str(tiny_smolvlm()), device="cpu", max_new_tokens=4, int8=True)
    engine.load()
    layers = [m for m in engine.model.modules()
              if isinstance(m, torch.ao.nn.quantized.dynamic.Linear)]
    assert layers
    assert not any(isinstance(m, torch.nn.Linear) for m in engine.vision_module.modules())
    from assistant.ports import VlmRequest
    from assistant.stage import CancelToken

    pieces = list(engine.stream(VlmRequest(question="Hello, who are you?", max_new_tokens=4),
                                CancelToken.never()))
    assert "".join(pieces) and engine.last.new_tokens == 4


def test_a_half_precision_checkpoint_is_quantized_as_stored(tmp_path):
    """A checkpoint stored in bfloat16 is loaded as stored and quantized layer by layer (no
    float32 copy of the whole model); the numbers are those of quantizing a float32 load."""
    from vision.answer.vlm.loading import load_model

    half = AutoModelForImageTextToText.from_pretrained(tiny_smolvlm(), dtype=torch.bfloat16)
    half.save_pretrained(tmp_path)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        source = tiny_smolvlm() / name
        if source.is_file():
            (tmp_path / name).write_bytes(source.read_bytes())
    model = load_model(tmp_path, "cpu", torch.float32, int8=True)
    reference = AutoModelForImageTextToText.from_pretrained(tmp_path, dtype=torch.float32).eval()
    quantize_for_cpu(reference)
    assert model.config.dtype == torch.bfloat16  # loaded as stored, not as float32
    floats = {p.dtype for p in model.parameters()}
    assert floats == {torch.float32}, floats  # the rest became float32
    vocab = model.config.get_text_config().vocab_size
    ids = torch.randint(5, vocab - 5, (1, 16), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(model(input_ids=ids).logits, reference(input_ids=ids).logits)


@pytest.mark.parametrize("arch", sorted(TINY))
def test_int8_vision_and_text_logits_on_a_photo_are_close_to_float32(arch):
    import cv2

    from assistant.events import Frame
    from assistant.ports import VlmRequest
    from tests.support import DATA
    from vision.answer.vlm.loading import load_processor

    model = AutoModelForImageTextToText.from_pretrained(TINY[arch](), dtype=torch.float32).eval()
    quantized = copy.deepcopy(model)
    text_layers, vision_layers = quantize_for_cpu(quantized)
    assert text_layers > 0 and vision_layers > 0
    engine = TransformersVlm.from_model(model, load_processor(TINY[arch]()), device="cpu",
                                        dtype=torch.float32)
    photo = cv2.imread(str(DATA / "extreme_ironing.jpg"))
    inputs = engine.prepare(VlmRequest(question="What is this?",
                                       frame=Frame(image=photo, captured_at=1.0)))
    with torch.no_grad():
        ref, got = model(**inputs).logits, quantized(**inputs).logits
    assert float((ref - got).abs().max()) <= 0.05 * float(ref.abs().max())
    assert float((ref.argmax(-1) == got.argmax(-1)).float().mean()) >= 0.9
