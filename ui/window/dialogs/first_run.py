"""First run: offer the presets that suit this computer, each in one sentence (what it can and
cannot do, how big the download is), mark the recommended one, and say what stays private.

The guide opens with the window: the first guess of the hardware comes from `detect(False)`
(no torch import); `set_hardware` refines the recommendation when the full detection (which
imports torch, seconds) comes back from the bridge's pool, unless the user already chose.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from assistant import config as cfg
from assistant.history import store_path
from ui import labels
from ui.window.a11y import announce, name
from ui.presets import (  # noqa: F401 (re-exported)
    Hardware, Preset, detect, download_mb, recommend, recommend_for, shown)

PRIVACY = ("Privacy: everything runs on this computer. Your voice and camera pictures never "
           "leave it unless you configure a remote backend in Settings (Privacy page).")
HISTORY = ("History: each finished turn (question, answer, a small picture) is kept on this "
           "computer in {path}. Conversation > Clear history deletes it; Settings > Privacy can "
           "turn it off, and then nothing is kept.")


def talk_key_text(global_shortcut: str) -> str:
    """Which talk key to use with a screen reader: Space in the window, and the global key."""
    key = "+".join(part.strip().strip("<>").title() for part in global_shortcut.split("+")
                   if part.strip())
    anywhere = f", or {key} from any window" if key else ""
    return (f"With a screen reader: hold Space in the Glimpse window{anywhere}. While you hold "
            "it, Glimpse stops the key repeating, so your screen reader says \"space\" once "
            "instead of over your question.")


def download_text(preset: Preset) -> str:
    """"Download: about 1.1 GB" or "No download: everything is in the offline pack"."""
    mb = download_mb(preset)
    if mb == 0:
        return "No download: everything it needs is already on this computer."
    return f"Download: about {labels.size_text(mb)}."


def _title(preset: Preset, recommended: bool) -> str:
    return preset.name + (" (recommended for this computer)" if recommended else "")


class FirstRunDialog(QDialog):
    """Shown once (config ui.show_first_run). `saved(config)` after either choice."""

    saved = Signal(object)

    def __init__(self, config: cfg.Config, path: Path | None = None,
                 hardware: Hardware | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.config, self.path = config, path
        self.touched = False  # the user picked a preset: a late detection changes nothing
        self.setWindowTitle("Welcome to Glimpse")
        name(self, "Welcome to Glimpse", "First-run guide")
        layout = QVBoxLayout(self)
        intro = QLabel("Hold Space (or the Talk button), ask about what the camera sees, and let "
                       "go. Glimpse answers aloud. F1 shows every shortcut.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        talk_key = QLabel(talk_key_text(config.ui.global_shortcut))
        talk_key.setWordWrap(True)
        layout.addWidget(talk_key)
        self.why = QLabel("")
        self.why.setWordWrap(True)
        layout.addWidget(self.why)
        self.group = QButtonGroup(self)
        self.radios: dict[str, QRadioButton] = {}
        self.sentences: dict[str, QLabel] = {}
        self.radio_box = QVBoxLayout()
        layout.addLayout(self.radio_box)
        for text in (PRIVACY, HISTORY.format(path=store_path(cfg.data_dir()))):
            label = QLabel(text)
            label.setWordWrap(True)
            layout.addWidget(label)
        self.message = QLabel("")
        name(self.message, "Message")
        layout.addWidget(self.message)
        buttons = QDialogButtonBox()
        self.use = buttons.addButton("Use this preset", QDialogButtonBox.AcceptRole)
        self.keep = buttons.addButton("Keep my settings", QDialogButtonBox.RejectRole)
        name(self.keep, "Keep my settings", "Change nothing; this guide will not show again.")
        self.use.clicked.connect(lambda: self.finish(True))
        self.keep.clicked.connect(lambda: self.finish(False))
        layout.addWidget(buttons)
        self.setMinimumWidth(560)
        self.set_hardware(hardware or detect(use_torch=False))
        self.group.buttonClicked.connect(self._picked)

    @property
    def preset(self) -> Preset:
        """The preset selected now (the recommendation until the user picks another)."""
        for key, radio in self.radios.items():
            if radio.isChecked():
                return self.recommended if key == self.recommended.key else \
                    next(p for p in self.choices if p.key == key)
        return self.recommended

    def set_hardware(self, hardware: Hardware) -> None:
        """(Re)build the choices for `hardware`; GUI thread. Keeps the user's pick."""
        self.hardware = hardware
        self.recommended = recommend_for(hardware, self.config.models.offline)
        self.choices = shown(hardware)
        if self.recommended.key not in {p.key for p in self.choices}:
            self.choices = (self.recommended,) + self.choices
        picked = self.preset.key if self.touched and self.radios else self.recommended.key
        for radio in self.radios.values():
            self.group.removeButton(radio)
            radio.deleteLater()
        for label in self.sentences.values():
            label.deleteLater()
        self.radios, self.sentences = {}, {}
        for preset in self.choices:
            recommended = preset.key == self.recommended.key
            # A radio button's text never wraps: the sentence is a label of its own below it.
            radio = QRadioButton(_title(preset, recommended))
            sentence = QLabel(f"{preset.does} {download_text(preset)}")
            sentence.setWordWrap(True)
            sentence.setIndent(28)
            sentence.setBuddy(radio)
            name(radio, _title(preset, recommended), sentence.text())
            self.group.addButton(radio)
            self.radio_box.addWidget(radio)
            self.radio_box.addWidget(sentence)
            self.radios[preset.key] = radio
            self.sentences[preset.key] = sentence
            radio.setChecked(preset.key == picked)
        self.why.setText(f"Choose what Glimpse uses. This computer: {self.recommended.why}. "
                         "You can change it later in Settings.")
        name(self.use, "Use this preset", "Apply the selected preset and save it.")
        self.use.setFocus()

    def _picked(self, _button) -> None:
        self.touched = True

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
