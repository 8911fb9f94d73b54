"""Checks of one model on disk: does it open safely, and is it what it claims to be.

Nothing is unpickled unsafely: `.pt`/`.pth` files are opened with `torch.load(weights_only=True)`
(memory-mapped, so a 3 GB checkpoint costs no RAM), safetensors with `safe_open`. Each check
returns a one-line summary or raises ModelError with what to do. They know nothing of the
store: `importing` runs them over the store's models.
"""
from __future__ import annotations

import json
from pathlib import Path

from assistant.errors import ModelError, refused_pickle


def safe_load(path: Path) -> object:
    """`torch.load(weights_only=True)`: tensors and plain containers only, never code.
    Memory-mapped when the file allows it (the zip format); old-format files are read whole."""
    import torch

    try:
        try:
            return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as exc:
            if "mmap can only be used" not in str(exc):
                raise
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure means "not a safe, loadable file"
        refused = refused_pickle(path, exc)
        if refused is not None:
            raise refused from None  # torch's text suggests running the code: never shown
        raise ModelError(f"{path} does not load as a plain weights file ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0][:200]})",
                         "It may be damaged or contain code; delete it and download it again"
                         ) from exc


def check_checkpoint(path: Path) -> str:
    """Open an openai-whisper checkpoint safely; return its summary or raise ModelError."""
    ckpt = safe_load(path)
    if not isinstance(ckpt, dict) or "dims" not in ckpt or "model_state_dict" not in ckpt:
        raise ModelError(f"{path} is not an openai-whisper checkpoint",
                         "It needs 'dims' and 'model_state_dict' entries")
    dims = ckpt["dims"]
    return f"{len(ckpt['model_state_dict'])} tensors, {dims.get('n_text_layer')} decoder layers"


def check_piper(path: Path) -> str:
    """A Piper voice: `<voice>.onnx` beside a readable `<voice>.onnx.json`."""
    cfg = path.with_name(path.name + ".json")
    try:
        data = json.loads(cfg.read_text(encoding="utf-8"))
        rate = int(data["audio"]["sample_rate"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"Piper voice config {cfg} is missing or invalid ({exc})",
                         "A voice needs <voice>.onnx and <voice>.onnx.json side by side") from exc
    if path.stat().st_size < 1024:
        raise ModelError(f"{path} is too small to be a voice", "Download it again")
    return f"{rate} Hz voice"


def check_hf(folder: Path) -> str:
    """A Hugging Face snapshot folder: its config parses and its safetensors open."""
    if not (folder / "config.json").is_file():
        raise ModelError(f"{folder} has no config.json", "Is it a Hugging Face model snapshot?")
    json.loads((folder / "config.json").read_text(encoding="utf-8"))
    tensors = sorted(folder.rglob("*.safetensors"))
    if tensors:
        from safetensors import safe_open

        n = 0
        for t in tensors:
            with safe_open(str(t), framework="numpy") as f:
                n += len(list(f.keys()))
        return f"{len(tensors)} safetensors file(s), {n} tensors"
    if list(folder.rglob("*.bin")) or list(folder.rglob("*.pt")):
        return "weights are pickle files (no safetensors): only load them if you trust the source"
    return "configuration only (no weights found)"


def check_ct2(folder: Path, first: Path | None = None) -> str:
    """A CTranslate2 folder (`first`: the first part of a split model.bin)."""
    parts = [first] if first else sorted(folder.glob("model.bin*"))
    if not parts or not (folder / "config.json").is_file():
        raise ModelError(f"{folder} is not a CTranslate2 model",
                         "It needs model.bin and config.json")
    with open(parts[0], "rb") as f:
        head = f.read(64)
    if b"WhisperSpec" not in head:
        return "CTranslate2 model (not Whisper)"
    return "CTranslate2 Whisper model"
