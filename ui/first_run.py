"""First run: recommend a preset for this computer and say what stays private."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from assistant import config as cfg
from assistant.history import store_path
from ui.a11y import announce, name
from ui.presets import Hardware, Preset, detect, recommend  # noqa: F401 (re-exported)

PRIVACY = ("Privacy: everything runs on this computer. Your voice and camera pictures never "
           "leave it unless you configure a remote backend in Settings (Privacy page).")
HISTORY = ("History: each finished turn (question, answer, a small picture) is kept on this "
           "computer in {path}. Conversation > Clear history deletes it; Settings can turn it "
           "off (history.enabled), and then nothing is kept.")


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
                     PRIVACY, HISTORY.format(path=store_path(cfg.data_dir()))):
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
        # Only what the user chose is saved, never the one-run overrides (--set, --offline,
        # GLIMPSE_...) that are part of the running config; this run keeps them.
        changes = dict(self.preset.values) if use else {}
        changes["ui.show_first_run"] = False
        new = self.config
        try:
            for key, value in changes.items():
                new = new.with_value(key, value)
            cfg.save_changes(changes, self.path)
        except (cfg.ConfigError, OSError) as exc:
            announce(self.message, f"Could not save: {exc}. Check the config folder.", True)
            return
        self.config = new
        self.saved.emit(new)
        self.accept()
