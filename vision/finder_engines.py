"""Which finder answers: `from_config(config)` builds the FinderEngine `[finder] engine` asks for.

"auto" is the open-vocabulary models (`vision.finder_open`) when both are on disk (never a
download at start-up), else the offline finder (`vision.finder.OfflineFinder`), with a note
that says how to get them.
"""
from __future__ import annotations

from typing import Any

from vision.finder import WATCH, FinderEngine, FinderOptions, OfflineFinder


def choose(config: Any) -> tuple[str, str]:
    """(engine, why) for `[finder] engine`, resolving "auto"."""
    wanted = config.finder.engine
    if wanted != "auto":
        return wanted, f"finder.engine = {wanted}"
    from vision.vlm import model_present

    f = config.finder
    if model_present(f.detector, config) and model_present(f.ranker, config):
        return "open", f"{f.detector} and {f.ranker} are on disk"
    return "offline", (f"the open-vocabulary models are not downloaded, so the offline finder "
                       f"answers (get them with `glimpse models pull {f.detector}` and "
                       f"`glimpse models pull {f.ranker}`)")


def from_config(config: Any, *, watch: bool = False) -> FinderEngine:
    """The configured finder, not loaded yet. `watch`: fewer crops (a 2x2 grid, no closer
    look), so a live camera is looked at several times a second."""
    engine, _why = choose(config)
    if engine == "open":
        from vision.finder_open import OpenVocabularyFinder

        return OpenVocabularyFinder.from_config(config)
    return OfflineFinder(WATCH if watch else FinderOptions())


def search_analyser(config: Any, engine: str | None = None, ocr: str = "auto") -> tuple[Any, str]:
    """The photo-search analyser `finder.engine` (or `engine`) asks for, not loaded, and why it
    was chosen (auto: the CLIP one when its model is downloaded, else the offline one)."""
    chosen, why = choose(config.with_value("finder.engine", engine) if engine else config)
    if chosen == "open":
        from vision.finder_open import ClipAnalyser

        return ClipAnalyser.from_config(config), why
    from vision.search import OfflineAnalyser

    return OfflineAnalyser(ocr=ocr), why
