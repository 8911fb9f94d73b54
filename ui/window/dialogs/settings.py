"""The settings dialog: edits the config tree directly.

There is one source of truth: the frozen `Config`. The dialog shows the values of a config,
builds a new one with `Config.with_value(key, value)` for every changed field (so every check
is the config's own: a bad value shows its ConfigError message under the field), and saves it
atomically with `assistant.config.save`. It never changes the running pipeline itself: it
emits `saved(config)`, and the window hands that to the bridge, which rebuilds the pipeline.
"""
from __future__ import annotations

import glob
import logging
from dataclasses import fields
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QHeaderView,
    QLineEdit,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from assistant import config as cfg
from assistant.errors import ConfigError
from ui import labels
from ui.window.a11y import announce, name

log = logging.getLogger(__name__)

NO_AUDIO = "no devices (no audio server)"

SUGGESTIONS: dict[str, tuple[str, ...]] = {
    "asr.model": ("whisper:tiny.en", "whisper:base.en", "whisper:base", "whisper:small.en",
                  "whisper:small", "whisper:large-v3-turbo"),
    "vlm.model": ("hf:HuggingFaceTB/SmolVLM2-500M-Video-Instruct",
                  "hf:HuggingFaceTB/SmolVLM2-2.2B-Instruct", "hf:Qwen/Qwen2.5-VL-3B-Instruct"),
    "tts.voice": ("piper:en_US-joe-medium", "piper:en_US-lessac-medium", "espeak-ng:en-us",
                  "espeak-ng:de", "espeak-ng:fr", "espeak-ng:es"),
    "asr.language": ("auto", "en", "de", "fr", "es", "it", "pt", "nl", "ja", "zh"),
}

#: (tab, [(key, label)]). The help text of each key (from the config) becomes the description.
PAGES: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("Devices", (("audio.input_device", "&Microphone"), ("audio.output_device", "&Speaker"),
                 ("camera.source", "&Camera"))),
    ("Models", (("asr.model", "Speech &recognition model"), ("vlm.backend", "&Answers from"),
                ("vlm.model", "&Vision-language model"), ("tts.engine", "Speech &engine"),
                ("tts.voice", "V&oice"))),
    ("Speech", (("asr.language", "&Language"), ("tts.rate", "Speech &rate"),
                ("audio.volume", "&Volume"), ("scene.verbosity", "Ver&bosity"),
                ("ui.speak_answers", "Speak &answers aloud"),
                ("ui.answer_voice", "Answer &voice"),
                ("earcons.enabled", "&Earcons (short sounds)"))),
    ("Talking", (("turns.mode", "&How a question starts"),
                 ("ui.global_shortcut", "&Global push-to-talk key"))),
    ("Privacy", (("models.offline", "&Offline: never use the network"),
                 ("vlm.remote_url", "Remote &backend URL"),
                 ("vlm.remote_model", "Remote &model name"),
                 ("history.enabled", "&Keep a history of turns on this computer"),
                 ("history.keep_days", "&Days of history kept"),
                 ("history.show_on_start", "Show the previous session at &start"))),
    ("Display", (("ui.theme", "&Theme"), ("ui.font_scale", "&Text size"),
                 ("ui.announce_ready", "Say \"&ready\" at start"))),
)

CHOICE_WORDS = labels.CHOICES["turns.mode"]
ADVANCED = "Advanced"
#: settings shown in people's words and stored in the configuration's: key names
KEYS = ("ui.global_shortcut",)


def audio_devices(kind: str) -> tuple[list[tuple[str, str]], str]:
    """[(label, value)] of input ("in") or output ("out") devices, and a note if none.

    Runs PortAudio's device query; with no audio server it fails, and the list says so.
    """
    try:
        import sounddevice as sd

        devices = sd.query_devices()
    except Exception as exc:  # noqa: BLE001 - PortAudioError / OSError become the note
        log.info("listing audio devices failed: %s", exc)
        return [], f"{NO_AUDIO}: {exc}"
    key = "max_input_channels" if kind == "in" else "max_output_channels"
    out = [(f"{d['name']} ({d[key]} channels)", str(d["name"])) for d in devices if d[key] > 0]
    return out, "" if out else NO_AUDIO


def cameras() -> list[tuple[str, str]]:
    """Camera devices the system shows (Linux: /dev/video*), as (label, value)."""
    out = []
    for path in sorted(glob.glob("/dev/video*")):
        index = path.removeprefix("/dev/video")
        if index.isdigit():
            out.append((f"Camera {index} ({path})", index))
    return out


def _help(key: str) -> tuple[str, str, Any]:
    """(help text, allowed, field) for a key, in the words a person reads (no config keys)."""
    section, _, field_name = key.partition(".")
    for f in fields(cfg.SECTIONS[section]):
        if f.name == field_name:
            hint = type(f.default) if isinstance(f.default, (int, float)) else None
            allowed = labels.allowed_words(key, dict(f.metadata), hint)
            return labels.HELP.get(key, f.metadata.get("help", "")), allowed, f
    raise ConfigError(f"Unknown setting '{key}'", "This is a bug in the settings dialog.")


def _text(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return ", ".join(map(str, value))
    return str(value)


class SettingsDialog(QDialog):
    """Threads: GUI thread only. `saved(config)` is emitted after a successful save."""

    saved = Signal(object)

    def __init__(self, config: cfg.Config, path: Path | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self.path = path
        self.editors: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}
        self.notes: dict[str, str] = {}  # why a device list is empty
        self.plain: dict[str, str] = {}  # key -> the field's label, without "&"
        self.allowed: dict[str, str] = {}  # key -> what it accepts, in words
        self.setWindowTitle("Glimpse settings")
        name(self, "Glimpse settings", "Changes are saved to your config file and applied by "
                                       "restarting the pipeline.")
        layout = QVBoxLayout(self)
        self.tabs = QTabWidget()
        name(self.tabs, "Settings pages", "Ctrl+Tab moves to the next page.")
        for title, rows in PAGES:
            page = QWidget()
            form = QFormLayout(page)
            for key, label in rows:
                self._add_row(form, key, label)
            self.tabs.addTab(page, title)
        self.tabs.addTab(self._advanced_page(), ADVANCED)
        layout.addWidget(self.tabs)
        self.general_error = QLabel("")
        self.general_error.setWordWrap(True)
        name(self.general_error, "Settings problems")
        layout.addWidget(self.general_error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Cancel)
        name(self.buttons.button(QDialogButtonBox.Save), "Save",
             "Save the settings and restart Glimpse with them.")
        name(self.buttons.button(QDialogButtonBox.Cancel), "Cancel", "Close without saving.")
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.resize(780, 540)

    # -- building --------------------------------------------------------------------------------

    def _add_row(self, form: QFormLayout, key: str, label: str) -> None:
        help_text, allowed, f = _help(key)
        note = ""
        value = self.config.get(key)
        plain = label.replace("&", "")
        description = " ".join(x for x in (help_text + ".", f"Allowed: {allowed}."
                                           if allowed else "") if x and x != ".")
        self.plain[key] = plain
        self.allowed[key] = allowed
        editor: QWidget
        if key in labels.PERCENT:
            spin = QSpinBox()
            spin.setRange(*labels.PERCENT[key])
            spin.setSingleStep(5 if key != "ui.font_scale" else 10)
            spin.setSuffix(" %")
            spin.setValue(round(float(value) * 100))
            editor = spin
        elif f.metadata.get("choices"):
            combo = QComboBox()
            for choice in f.metadata["choices"]:
                combo.addItem(labels.choice_name(key, choice), choice)
            combo.setCurrentIndex(max(0, combo.findData(value)))
            editor = combo
        elif isinstance(value, bool):
            editor = QCheckBox()
            editor.setChecked(value)
        elif key in ("audio.input_device", "audio.output_device", "camera.source") \
                or key in SUGGESTIONS:
            combo = QComboBox()
            combo.setEditable(True)
            items, note = self._items_for(key)
            self.notes[key] = note
            for item_label, item_value in items:
                combo.addItem(item_label, item_value)
            if note:
                combo.addItem(note, "")
                description += f" {note}."
            index = combo.findData(str(value))
            if index < 0 and key in SUGGESTIONS and str(value):
                combo.addItem(labels.choice_name(key, str(value)), str(value))
                index = combo.count() - 1
            if index >= 0:
                combo.setCurrentIndex(index)
            else:
                combo.setEditText(_text(value))
            editor = combo
        else:
            editor = QLineEdit(labels.key_text(value) if key in KEYS else _text(value))
            if key in KEYS:
                editor.setPlaceholderText("for example Ctrl+Alt+Space; empty turns it off")
            elif allowed:
                editor.setPlaceholderText(allowed)
            editor.editingFinished.connect(lambda k=key: self.check(k))
        name(editor, plain, description)
        error = QLabel("")
        error.setWordWrap(True)
        error.setVisible(False)
        error.setObjectName("fieldError")  # coloured per theme by ui.window.theme
        name(error, f"Problem with {plain}")
        box = QWidget()
        v = QVBoxLayout(box)
        v.setContentsMargins(0, 0, 0, 0)
        v.addWidget(editor)
        if isinstance(editor, QComboBox) and key in ("audio.input_device",
                                                     "audio.output_device") and note:
            hint = QLabel(f"Note: {note}. Start PulseAudio or PipeWire, then reopen Settings.")
            hint.setWordWrap(True)
            v.addWidget(hint)
        v.addWidget(error)
        row_label = QLabel(label)
        row_label.setBuddy(editor)
        form.addRow(row_label, box)
        self.editors[key] = editor
        self.errors[key] = error

    def _items_for(self, key: str) -> tuple[list[tuple[str, str]], str]:
        if key == "audio.input_device":
            items, note = audio_devices("in")
            return [("System default", "")] + items, note
        if key == "audio.output_device":
            items, note = audio_devices("out")
            return [("System default", "")] + items, note
        if key == "camera.source":
            return [("No camera", ""), ("First camera (0)", "0")] + [
                c for c in cameras() if c[1] != "0"], ""
        return [(labels.choice_name(key, s), s) for s in SUGGESTIONS[key]], ""

    def _advanced_page(self) -> QWidget:
        """Every setting by its config key, with its value and what it accepts: the one place
        the dialog shows keys, for people who edit the config file or use --set."""
        page = QWidget()
        v = QVBoxLayout(page)
        intro = QLabel("Every setting as the configuration file and the command line name it "
                       "(glimpse --set key=value). Settings not on the other pages are changed "
                       "in the configuration file.")
        intro.setWordWrap(True)
        v.addWidget(intro)
        rows = cfg.describe()
        table = QTableWidget(len(rows), 4)
        table.setHorizontalHeaderLabels(["Key", "Value", "Allowed", "What it does"])
        table.setEditTriggers(QTableWidget.NoEditTriggers)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.Interactive)
        header.setStretchLastSection(True)
        table.verticalHeader().setVisible(False)
        # "What it does" wraps in its column: the whole sentence is read, never cut off.
        table.setWordWrap(True)
        table.setTextElideMode(Qt.ElideNone)
        for r, (key, _default, allowed, help_text) in enumerate(rows):
            for c, text in enumerate((key, _text(self.config.get(key)), allowed, help_text)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                table.setItem(r, c, item)
        table.resizeColumnToContents(0)
        for column, width in ((1, 120), (2, 140)):
            table.setColumnWidth(column, width)
        table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        name(table, "All settings by key", "Read only. One row per setting.")
        v.addWidget(table, 1)
        self.advanced = table
        return page

    # -- values ----------------------------------------------------------------------------------

    def raw_value(self, key: str) -> Any:
        editor = self.editors[key]
        if isinstance(editor, QCheckBox):
            return editor.isChecked()
        if isinstance(editor, QSpinBox):
            return editor.value() / 100
        if isinstance(editor, QComboBox):
            if editor.isEditable():
                text = editor.currentText()
                index = editor.currentIndex()
                if index >= 0 and text == editor.itemText(index):
                    return editor.itemData(index)
                return text.strip()
            return editor.currentData()
        text = editor.text().strip()  # type: ignore[attr-defined]
        return labels.key_setting(text) if key in KEYS else text

    def set_raw(self, key: str, value: Any) -> None:
        """Set a field as a user would (used by tests and by presets)."""
        editor = self.editors[key]
        if isinstance(editor, QCheckBox):
            editor.setChecked(bool(value))
        elif isinstance(editor, QSpinBox):
            editor.setValue(round(float(value) * 100))  # a fraction: 1.25 -> 125 %
        elif isinstance(editor, QComboBox):
            index = editor.findData(value)
            if index >= 0:
                editor.setCurrentIndex(index)
            elif editor.isEditable():
                editor.setEditText(_text(value))
        else:
            shown = labels.key_text(value) if key in KEYS else _text(value)
            editor.setText(shown)  # type: ignore[attr-defined]

    def _show(self, key: str, message: str) -> None:
        label = self.errors[key]
        label.setText(f"Problem: {message}" if message else "")
        label.setVisible(bool(message))

    def check(self, key: str) -> str:
        """Check one field against the config's rules; show and return the message ("" = ok)."""
        try:
            self.config.with_value(key, self.raw_value(key))
            message = ""
        except ConfigError as exc:
            message = self._words(key, exc)
        self._show(key, message)
        return message

    def _words(self, key: str, exc: ConfigError) -> str:
        """The config's complaint, in the field's own words (the key stays in the log)."""
        log.info("setting %s refused: %s", key, exc.message)
        return labels.error_text(self.plain[key], self.raw_value(key), self.allowed[key])

    def build(self) -> tuple[cfg.Config, dict[str, str]]:
        """The edited config, and {key: ConfigError message} for every bad field."""
        new, bad = self.config, {}
        for key in self.editors:
            raw = self.raw_value(key)
            if _text(raw) == _text(self.config.get(key)):
                self._show(key, "")
                continue
            try:
                new = new.with_value(key, raw)
                self._show(key, "")
            except ConfigError as exc:
                bad[key] = self._words(key, exc)
                self._show(key, bad[key])
        return new, bad

    def save(self) -> bool:
        new, bad = self.build()
        if bad:
            first = next(iter(bad))
            for index, (_, rows) in enumerate(PAGES):
                if any(k == first for k, _ in rows):
                    self.tabs.setCurrentIndex(index)
            self.editors[first].setFocus()
            announce(self.general_error, f"{len(bad)} setting(s) need fixing. "
                                         f"{bad[first]}", assertive=True)
            return False
        # Only the fields the user changed are written: the running config also holds one-run
        # overrides (--set, --offline, GLIMPSE_...), which must never become permanent.
        changes = {key: new.get(key) for key in self.editors
                   if new.get(key) != self.config.get(key)}
        try:
            cfg.save_changes(changes, self.path)
        except ConfigError as exc:
            announce(self.general_error, exc.message, assertive=True)
            return False
        except OSError as exc:
            announce(self.general_error, f"Could not save the settings ({exc}). Check that "
                                         "the config folder is writable.", assertive=True)
            return False
        self.config = new
        self.saved.emit(new)
        self.accept()
        return True
