"""The microphone level: one bar and one reading in words, never the same number twice.

The window's bar shows the level without text (so a large font or the high-contrast outline
never clips it); the field beside it reads "Mic: 34% (good)", ", clipping" at full scale.
The words carry the meaning, the bar only shows it, so nothing depends on colour or on
seeing the bar. Called on the GUI thread with the bridge's coalesced levels (newest only).
"""
from __future__ import annotations


def level_words(rms: float, peak: float) -> tuple[int, str]:
    """(percent 0..100, "Mic: 34% (good)") for a chunk's RMS and peak (full scale = 1.0).

    Speech RMS is about 0.01 to 0.3: a square root spreads that over the bar."""
    percent = int(min(1.0, max(0.0, rms) ** 0.5 * 1.5) * 100)
    words = "silent" if percent < 5 else "quiet" if percent < 25 else \
        "good" if percent < 85 else "too loud"
    return percent, f"Mic: {percent}% ({words})" + (", clipping" if peak >= 0.99 else "")
