"""int8 text decoder of the CPU VLM (vision.answer.vlm.loading.quantize_text_decoder) on tiny
random-weight models of real architectures (SmolVLM / Idefics3 + Llama, Qwen2.5-VL + Qwen2).

Tolerance, stated: on 24 random tokens, the largest logit difference to float32 is at most 5% of
the largest float32 logit (measured: about 3%), and the top token agrees at 90% of the positions
at least (random weights make near-ties; measured 23 of 24)."""
from __future__ import annotations

import copy

import pytest
import torch
from transformers import AutoModelForImageTextToText

from tests.support.vlm import tiny_qwen25vl, tiny_smolvlm
from vision.answer.vlm.engine import TransformersVlm
from vision.answer.vlm.loading import quantize_text_decoder

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
    # The vision encoder is untouched.
    vision = [m for n, m in quantized.named_modules() if "vision" in n or "visual" in n]
    assert vision and not any(isinstance(m, torch.ao.nn.quantized.dynamic.Linear)
                              for m in vision)


def test_engine_with_int8_loads_and_answers():
    engine = TransformersVlm(str(tiny_smolvlm()), device="cpu", max_new_tokens=4, int8=True)
    engine.load()
    layers = [m for m in engine.model.modules()
              if isinstance(m, torch.ao.nn.quantized.dynamic.Linear)]
    assert layers
    from assistant.ports import VlmRequest
    from assistant.stage import CancelToken

    pieces = list(engine.stream(VlmRequest(question="Hello, who are you?", max_new_tokens=4),
                                CancelToken.never()))
    assert "".join(pieces) and engine.last.new_tokens == 4
