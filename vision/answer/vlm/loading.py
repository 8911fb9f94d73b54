"""From a model reference to a loaded vision-language model: where its files are, whether it fits
in memory, its processor (PIL image processing, no torchvision), device and dtype, and the int8
text decoder on the CPU. Called by the engine's `load()` on the answer stage's thread. (Whether
a model is on disk at all is the store's `on_disk`.)"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from assistant.errors import ConfigError, ModelError
from assistant.int8 import quantized_linear, swap_linears
from assistant.models.store import ModelStore

log = logging.getLogger(__name__)

SMALLER_MODELS = ("hf:HuggingFaceTB/SmolVLM2-256M-Video-Instruct (about 0.5 GB), "
                  "hf:HuggingFaceTB/SmolVLM2-500M-Video-Instruct (about 1 GB)")


def resolve_model(model: str, config: Any = None) -> Path:
    """A local folder for `vlm.model`: a path, or `hf:owner/name[@revision]` through the model
    store (imported models, then the Hugging Face cache, then a download unless offline)."""
    text = str(model).strip()
    path = Path(os.path.expanduser(text))
    if not text.startswith("hf:"):
        if path.is_dir():
            return path
        raise ModelError(f"The VLM model folder {text} does not exist",
                         "Set vlm.model to a folder with config.json, or to hf:owner/name")
    return ModelStore(config).hf_folder(text)


def _weights_bytes(path: Path) -> int:
    files = list(path.glob("*.safetensors")) or list(path.glob("*.bin"))
    return sum(f.stat().st_size for f in files)


def _available_bytes(device: str) -> int | None:
    """Free memory where the weights go: CUDA free memory, or MemAvailable from /proc."""
    if device.startswith("cuda"):
        import torch

        return int(torch.cuda.mem_get_info()[0])
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None

def stored_dtype(path: Path) -> str:
    """The dtype the checkpoint in `path` is stored in, as its config names it ("" unknown)."""
    cfg = path / "config.json"
    try:
        data = json.loads(cfg.read_text())
    except (OSError, ValueError):
        return ""
    return str(data.get("torch_dtype") or data.get("dtype") or "")


def stored_half(path: Path) -> bool:
    """Whether the checkpoint in `path` is stored in 16-bit floats (fp32 doubles its size)."""
    return stored_dtype(path) in ("bfloat16", "float16")


def load_model(path: Path, device: str, dtype: Any, int8: bool) -> Any:
    """The image-text model in `path` on `device`, its float weights in `dtype`.

    `int8` (CPU, float32): the Linear layers of the text decoder and the vision encoder become
    int8 (`quantize_for_cpu`).
    A checkpoint stored in 16-bit floats is then loaded as stored and its decoder layers are
    quantized from those weights one by one before the rest becomes float32: the float32 copy of
    the whole model never exists (SmolVLM2-500M: about 1 GB at the peak instead of 2.4 GB). The
    numbers are those of quantizing a float32 load (16 -> 32 bit is exact).
    """
    import torch
    from transformers import AutoModelForImageTextToText

    int8 = int8 and device == "cpu" and dtype == torch.float32
    stored = stored_dtype(path)
    load_dtype = getattr(torch, stored) if int8 and stored in ("bfloat16", "float16") else dtype
    # transformers 5 calls the argument `dtype`; 4.x calls it `torch_dtype`.
    key = "dtype" if transformers_major() >= 5 else "torch_dtype"
    model = AutoModelForImageTextToText.from_pretrained(path, **{key: load_dtype})
    if int8:
        log.info("VLM int8: %d text decoder and %d vision layers", *quantize_for_cpu(model))
        model.float()
    return model.to(device).eval()


def check_memory(path: Path, device: str, dtype: Any, ref: str, int8: bool = False) -> None:
    """Raise ModelError (with smaller models to choose) when the weights in `path`, at `dtype`,
    would not fit in the memory free on `device` with 15 % to spare (`int8`: loaded as stored,
    see `load_model`)."""
    import torch

    need = _weights_bytes(path)
    if dtype in (torch.float32,) and need and not (int8 and device == "cpu"):
        need = need * 2 if stored_half(path) else need
    have = _available_bytes(device)
    if need and have is not None and need * 1.15 > have:
        raise ModelError(
            f"The VLM {ref} needs about {need / 2**30:.1f} GB but only "
            f"{have / 2**30:.1f} GB is free on {device}",
            "Choose a smaller model (" + SMALLER_MODELS + "), use vlm.backend = remote, or "
            "vlm.backend = describer", needs_action=True)


def transformers_major() -> int:
    import transformers

    return int(transformers.__version__.split(".")[0])


def _pil_kwargs() -> dict[str, Any]:
    # transformers 5 names the choice `backend`; 4.x calls it `use_fast`.
    return {"backend": "pil"} if transformers_major() >= 5 else {"use_fast": False}


def load_processor(path: Path):
    """The model's processor with PIL image processing.

    Processors that also handle video (SmolVLM, Qwen2.5-VL) need torchvision for the video
    part; without it we build the same processor class with the video processor left out,
    which is all a camera frame needs.
    """
    from transformers import AutoProcessor

    try:
        return AutoProcessor.from_pretrained(path, **_pil_kwargs())
    except (ImportError, AttributeError, ValueError, TypeError) as exc:
        if "torchvision" not in str(exc).lower() and "video" not in str(exc).lower():
            raise
        log.info("processor needs torchvision for video (%s); loading it image-only",
                 str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
    return _image_only_processor(path)


def _image_only_processor(path: Path):
    import transformers
    from transformers import AutoImageProcessor, AutoTokenizer

    settings: dict[str, Any] = {}
    for name in ("processor_config.json", "preprocessor_config.json"):
        file = path / name
        if file.is_file():
            data = json.loads(file.read_text())
            if "processor_class" in data and "processor_class" not in settings:
                settings = data
    tok_cfg = path / "tokenizer_config.json"
    cls_name = settings.get("processor_class") or (
        json.loads(tok_cfg.read_text()).get("processor_class") if tok_cfg.is_file() else None)
    cls = getattr(transformers, cls_name, None) if cls_name else None
    if cls is None:
        raise ModelError(f"The model in {path} names no processor Glimpse can build",
                         "Use a model with a processor_config.json, e.g. " + SMALLER_MODELS)
    attrs = [a for a in cls.get_attributes() if a != "video_processor"]
    image_only = type(cls.__name__ + "ImageOnly", (cls,),
                      {"get_attributes": classmethod(lambda c: list(attrs))})
    tokenizer = AutoTokenizer.from_pretrained(path)
    image_processor = AutoImageProcessor.from_pretrained(path, **_pil_kwargs())
    kwargs = {k: v for k, v in settings.items()
              if k not in ("processor_class", "image_processor", "video_processor", "tokenizer",
                           "auto_map")}
    template = None
    if (path / "chat_template.jinja").is_file():
        template = (path / "chat_template.jinja").read_text()
    elif (path / "chat_template.json").is_file():
        template = json.loads((path / "chat_template.json").read_text()).get("chat_template")
    kwargs["chat_template"] = template or getattr(tokenizer, "chat_template", None)
    import inspect

    accepted = inspect.signature(cls.__init__).parameters
    if "video_processor" in accepted:
        kwargs["video_processor"] = None  # dropped: not in get_attributes()
    if not any(p.kind == p.VAR_KEYWORD for p in accepted.values()):
        kwargs = {k: v for k, v in kwargs.items() if k in accepted}
    return image_only(image_processor=image_processor, tokenizer=tokenizer, **kwargs)


def pick_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("vlm.device is 'cuda' but no CUDA GPU is available",
                          "Set vlm.device to auto or cpu")
    return device


def pick_dtype(dtype: str, device: str):
    import torch

    if dtype != "auto":
        return getattr(torch, dtype)
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32

#: Names of the vision encoder submodule in the architectures we know.
VISION_MODULE_NAMES = ("vision_model", "vision_tower", "visual")
#: ...and of the projection from its features to the text model's, where it sits beside it.
PROJECTOR_NAMES = ("connector", "multi_modal_projector")


def quantize_for_cpu(model: Any) -> tuple[int, int]:
    """`vlm.int8`: the text decoder's Linear layers (`quantize_text_decoder`) and the vision
    encoder's (`quantize_vision`) as int8. Returns how many layers of each were replaced."""
    return quantize_text_decoder(model), quantize_vision(model)


def quantize_vision(model: Any) -> int:
    """Replace, in place, every `nn.Linear` of the vision encoder (attention, MLPs) and of the
    projection to the text model with an int8 dynamic-quantized one. On
    2 cores SigLIP-base at 512 px took 0.65 s so instead of 2.3 s in float32; ONNX Runtime's
    int8 took 1.15 s beside torch int8's 1.23 s in the same run, so torch's is kept. The patch
    convolution and the norms stay float32. Returns how many layers were replaced."""
    from torch import nn

    names = VISION_MODULE_NAMES + PROJECTOR_NAMES
    parts = [module for name, module in model.named_modules()
             if name.rsplit(".", 1)[-1] in names and isinstance(module, nn.Module)]
    return sum(swap_linears(part) for part in parts)


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
