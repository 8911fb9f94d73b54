"""What differs between transformers 4 and 5, for the VLM engine (`vision.answer.vlm.engine`):
image processor sizes, the KV cache and the keyword that hands it over."""
from __future__ import annotations

import dataclasses
import inspect
from typing import Any


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
