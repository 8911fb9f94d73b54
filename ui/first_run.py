"""First run: recommend a preset for this computer and say what stays private."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from assistant import config as cfg
from ui.a11y import announce, name

PRIVACY = ("Privacy: everything runs on this computer. Your voice and camera pictures never "
           "leave it unless you configure a remote backend in Settings (Privacy page).")


@dataclass(frozen=True)
class Hardware:
    ram_gb: float
    vram_gb: float | None  # None: no CUDA GPU (or torch not importable)
    gpu: str = ""


@dataclass(frozen=True)
class Preset:
    name: str
    why: str
    values: tuple[tuple[str, str], ...]


def detect() -> Hardware:
    """RAM from sysconf; VRAM from torch.cuda when torch and a GPU are there."""
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        ram = 0.0
    vram, gpu = None, ""
    try:
        import torch

        if torch.cuda.is_available():
            props = torch.cuda.get_device_properties(0)
            vram, gpu = props.total_memory / 2**30, props.name
    except ImportError:
        pass
    return Hardware(ram_gb=ram, vram_gb=vram, gpu=gpu)


def recommend(hw: Hardware) -> Preset:
    if hw.vram_gb is not None and hw.vram_gb >= 10:
        return Preset("Large (GPU)", f"{hw.gpu} with {hw.vram_gb:.0f} GB of video memory",
                      (("asr.model", "whisper:large-v3-turbo"),
                       ("vlm.model", "hf:HuggingFaceTB/SmolVLM2-2.2B-Instruct"),
                       ("vlm.backend", "local"), ("asr.device", "cuda"), ("vlm.device", "cuda")))
    if hw.vram_gb is not None and hw.vram_gb >= 4:
        return Preset("Balanced (GPU)", f"{hw.gpu} with {hw.vram_gb:.0f} GB of video memory",
                      (("asr.model", "whisper:small"),
                       ("vlm.model", "hf:HuggingFaceTB/SmolVLM2-500M-Video-Instruct"),
                       ("vlm.backend", "local")))
    if hw.ram_gb >= 8:
        return Preset("Balanced (CPU)", f"no GPU, {hw.ram_gb:.0f} GB of memory",
                      (("asr.model", "whisper:base.en"),
                       ("vlm.model", "hf:HuggingFaceTB/SmolVLM2-500M-Video-Instruct"),
                       ("vlm.backend", "auto")))
    return Preset("Small (offline describer)", f"no GPU, {hw.ram_gb:.0f} GB of memory",
                  (("asr.model", "whisper:tiny.en"), ("vlm.backend", "describer")))


class FirstRunDialog(QDialog):
    """Shown once (config ui.show_first_run). `saved(config)` after either choice."""

    saved = Signal(object)

    def __init__(self, config: cfg.Config, path: Path | None = None,
                 hardware: Hardware | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.config, self.path = config, path
        self.hardware = hardware or detect()
        self.preset = recommend(self.hardware)
        self.setWindowTitle("Welcome to Glimpse")
        name(self, "Welcome to Glimpse", "First-run guide")
        layout = QVBoxLayout(self)
        settings = ", ".join(f"{k} = {v}" for k, v in self.preset.values)
        for text in ("Hold Space (or the Talk button), ask about what the camera sees, and let "
                     "go. Glimpse answers aloud. F1 shows every shortcut.",
                     f"Recommended for this computer ({self.preset.why}): "
                     f"{self.preset.name}. It sets {settings}.",
                     PRIVACY):
            label = QLabel(text)
            label.setWordWrap(True)
            layout.addWidget(label)
        self.message = QLabel("")
        name(self.message, "Message")
        layout.addWidget(self.message)
        buttons = QDialogButtonBox()
        self.use = buttons.addButton("Use the recommendation", QDialogButtonBox.AcceptRole)
        self.keep = buttons.addButton("Keep my settings", QDialogButtonBox.RejectRole)
        name(self.use, "Use the recommendation", f"Apply the {self.preset.name} preset.")
        name(self.keep, "Keep my settings", "Change nothing; this guide will not show again.")
        self.use.clicked.connect(lambda: self.finish(True))
        self.keep.clicked.connect(lambda: self.finish(False))
        layout.addWidget(buttons)
        self.use.setFocus()

    def finish(self, use: bool) -> None:
        new = self.config
        try:
            if use:
                for key, value in self.preset.values:
                    new = new.with_value(key, value)
            new = new.with_value("ui.show_first_run", False)
            cfg.save(new, self.path)
        except (cfg.ConfigError, OSError) as exc:
            announce(self.message, f"Could not save: {exc}. Check the config folder.", True)
            return
        self.config = new
        self.saved.emit(new)
        self.accept()
