"""A notice with an action and an end: the missing vision model banner.

When the settings ask for a vision model (answers "auto" or "local") that is not on this
computer, the window shows this banner above the conversation instead of a notice that sends
the user to the command line. It offers:

- **Download...**: `download_requested(ref)`; the window opens the Models dialog on that model
  (`ModelsDialog(..., focus=ref)`), which shows its size and the download's progress.
- **Keep using the offline describer**: saves `vlm.backend = "describer"` (only that key) to
  the config file and emits `config_saved(config)`: the config the window runs now (`current()`,
  read at the click: the one source of truth, whatever the guide or Settings chose since the
  banner appeared) with that one value changed. With the describer chosen the model is no
  longer wanted, so the banner never comes back.
- **Dismiss**: hides it for this run.

`missing_vision_model` decides whether it is wanted (the window asks again after every change of
the settings, and removes the banner when the chosen settings no longer need the model);
`covers(notice)` tells the window which pipeline notice the banner replaces, so the same news is
never shown twice. GUI thread only.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from assistant import config as cfg
from ui import labels
from ui.window.a11y import announce, name


def missing_vision_model(config: cfg.Config,
                         missing: Iterable[tuple[str, str, str]]) -> str:
    """The vision model reference the banner is about, or "" when none is wanted.

    `missing` is `ModelStore.missing()`: (setting, reference, what happens) triples."""
    if config.vlm.backend not in ("auto", "local"):
        return ""
    for key, ref, _then in missing:
        if key == "vlm.model":
            return ref
    return ""


def covers(notice: str) -> bool:
    """True for the pipeline's "vision model not downloaded" notice, which the banner
    replaces (the window drops it while the banner is shown or was acted on)."""
    low = notice.lower()
    return "not downloaded" in low and ("vlm" in low or "vision" in low or "describer" in low)


class ModelBanner(QFrame):
    download_requested = Signal(str)
    config_saved = Signal(object)
    closed = Signal()

    def __init__(self, current: Callable[[], cfg.Config], ref: str, path: Path | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.current, self.ref, self.path = current, ref, path
        self.setObjectName("banner")
        self.setFrameShape(QFrame.StyledPanel)
        outer = QHBoxLayout(self)
        icon = QLabel()
        icon.setPixmap(self.style().standardIcon(QStyle.SP_MessageBoxInformation).pixmap(32, 32))
        icon.setAccessibleName("Information")
        outer.addWidget(icon)
        box = QVBoxLayout()
        size = labels.size_text(labels.download_mb(ref)) if labels.download_mb(ref) else ""
        model = labels.short_model_name(ref)
        self.text = QLabel(
            f"Open questions about the picture need the {model} vision model"
            + (f" (about {size})" if size else "") + ", which is not on this computer yet. "
            "Until then the offline describer answers: it reads text and says who and what is "
            "in view, but cannot answer open questions.")
        self.text.setWordWrap(True)
        box.addWidget(self.text)
        row = QHBoxLayout()
        self.download = QPushButton(f"&Download {model}...")
        name(self.download, f"Download {model}", "Opens Models on this model, with its size "
                                                 "and the download's progress.")
        self.keep = QPushButton("&Keep using the offline describer")
        name(self.keep, "Keep using the offline describer", "Remembered in your settings; "
                                                            "this notice will not come back.")
        self.dismiss = QPushButton("Dis&miss")
        name(self.dismiss, "Dismiss", "Hide this notice until Glimpse starts again.")
        for b in (self.download, self.keep):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(self.dismiss)
        box.addLayout(row)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        box.addWidget(self.message)
        outer.addLayout(box, 1)
        name(self, "Vision model not downloaded", self.text.text())
        self.download.clicked.connect(lambda: self.download_requested.emit(self.ref))
        self.keep.clicked.connect(self.keep_describer)
        self.dismiss.clicked.connect(self.close_banner)

    def keep_describer(self) -> bool:
        """Save the describer as the answer engine (only that key); hide the banner."""
        try:
            new = self.current().with_value("vlm.backend", "describer")
            cfg.save_changes({"vlm.backend": "describer"}, self.path)
        except (cfg.ConfigError, OSError) as exc:
            self.message.setVisible(True)
            announce(self.message, f"Could not save the choice: {exc}. Check that the "
                                   "config folder is writable.", assertive=True)
            return False
        self.config_saved.emit(new)
        self.close_banner()
        return True

    def close_banner(self) -> None:
        self.hide()
        self.closed.emit()
