"""Small helpers of the transformers VLM engine (`vision.vlm`): checkpoint dtype, image
processor sizes, and the KV cache, whose APIs differ between transformers 4 and 5."""
from __future__ import annotations

import dataclasses
import inspect
import json
from pathlib import Path
from typing import Any

from assistant.int8 import quantized_linear, swap_linears


def stored_half(path: Path) -> bool:
    """Whether the checkpoint in `path` is stored in 16-bit floats (fp32 doubles its size)."""
    cfg = path / "config.json"
    try:
        data = json.loads(cfg.read_text())
    except (OSError, ValueError):
        return False
    dtype = str(data.get("torch_dtype") or data.get("dtype") or "")
    return dtype in ("bfloat16", "float16")


def size_get(size, key: str):
    return size.get(key) if isinstance(size, dict) else getattr(size, key, None)


def set_size(ip, **changes) -> None:
    """Change an image processor's `size` (a dict in transformers 4, a SizeDict in 5)."""
    size = getattr(ip, "size", None)
    if size is None or isinstance(size, dict):
        ip.size = {**(size or {}), **changes}
    elif dataclasses.is_dataclass(size):
        ip.size = dataclasses.replace(size, **changes)
    else:
        ip.size = {**dict(size), **changes}


def crop_to(cache, length: int) -> None:
    """Cut a DynamicCache back to `length` positions (the API changed in transformers 5)."""
    extra = cache.get_seq_length() - length
    if extra <= 0:
        return
    if "tokens_to_remove" in inspect.signature(cache.crop).parameters:
        cache.crop(-extra)
    else:
        cache.crop(length)


def new_cache(model: Any):
    """An empty DynamicCache for `model` (transformers 5 wants the text config)."""
    from transformers import DynamicCache

    if "config" in inspect.signature(DynamicCache.__init__).parameters:
        return DynamicCache(config=model.config.get_text_config())
    return DynamicCache()


def cache_kwarg(model: Any) -> str:
    """The keyword that hands a KV cache to `forward()` and `generate()`: `cache` in newer
    transformers (where `past_key_values` is deprecated), `past_key_values` before."""
    return "cache" if accepts(model.forward, "cache") else "past_key_values"


def accepts(function: Any, name: str) -> bool:
    """Whether `function` takes a keyword argument `name` (directly, not through **kwargs)."""
    try:
        return name in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


def quantize_text_decoder(model: Any) -> int:
    """Replace, in place, every `nn.Linear` of the text decoder (the language model and the
    output head) with an int8 dynamic-quantized one (weights per output channel, activations
    quantized per call; PyTorch's CPU kernels). The vision encoder, the embeddings and the norms
    stay float32: a turn's image is encoded once, its tokens are decoded one by one, so the text
    decoder's weights are what each token reads. CPU and float32 only. Returns how many layers
    were replaced (0 when no text decoder was found)."""
    from torch import nn

    inner = getattr(model, "model", model)
    decoder = next((getattr(inner, name) for name in ("text_model", "language_model")
                    if isinstance(getattr(inner, name, None), nn.Module)), None)
    if decoder is None:
        return 0
    count = swap_linears(decoder)
    head = getattr(model, "lm_head", None)
    if isinstance(head, nn.Linear):
        model.lm_head = quantized_linear(head.weight, head.bias)
        count += 1
    return count
