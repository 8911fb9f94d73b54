"""The microphone level: one bar and one reading in words, never the same number twice.

The bar shows the level without text (so a large font or the high-contrast outline never clips
it); the label beside it reads "Mic: 34% (good)", ", clipping" when the peak hits full scale.
The words carry the meaning, the bar only shows it, so nothing depends on colour or on
seeing the bar. Called on the GUI thread with the bridge's coalesced levels (newest only).
"""
from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QSizePolicy, QWidget

from ui.a11y import name


def level_words(rms: float, peak: float) -> tuple[int, str]:
    """(percent 0..100, "Mic: 34% (good)") for a chunk's RMS and peak (full scale = 1.0).

    Speech RMS is about 0.01 to 0.3: a square root spreads that over the bar."""
    percent = int(min(1.0, max(0.0, rms) ** 0.5 * 1.5) * 100)
    words = "silent" if percent < 5 else "quiet" if percent < 25 else \
        "good" if percent < 85 else "too loud"
    return percent, f"Mic: {percent}% ({words})" + (", clipping" if peak >= 0.99 else "")


class LevelMeter(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.bar.setValue(0)
        self.bar.setTextVisible(False)
        self.bar.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.text = QLabel("Mic: 0% (silent)")
        self.text.setMinimumWidth(self.text.fontMetrics().horizontalAdvance(
            "Mic: 100% (too loud), clipping"))
        self.text.setBuddy(self.bar)
        name(self.bar, "Microphone level", "Mic: 0% (silent)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar, 1)
        layout.addWidget(self.text)

    def set_level(self, rms: float, peak: float) -> None:
        percent, text = level_words(rms, peak)
        self.bar.setValue(percent)
        if text != self.text.text():
            self.text.setText(text)
            self.bar.setAccessibleDescription(text)
