"""Which finder answers: `from_config(config)` builds the FinderEngine `[finder] engine` asks for.

"auto" is the open-vocabulary models (`vision.finder.open_vocab`) when both are on disk (never a
download at start-up), else the offline finder (`vision.finder.offline.OfflineFinder`), with a note
that says how to get them.
"""
from __future__ import annotations

from typing import Any

from assistant.models.store import ModelStore

from vision.finder.base import WATCH, FinderEngine, FinderOptions
from vision.finder.offline import OfflineFinder


def choose(config: Any) -> tuple[str, str]:
    """(engine, why) for `[finder] engine`, resolving "auto"."""
    wanted = config.finder.engine
    if wanted != "auto":
        return wanted, f"finder.engine = {wanted}"
    f = config.finder
    store = ModelStore(config)
    if store.on_disk(f.detector) and store.on_disk(f.ranker):
        return "open", f"{f.detector} and {f.ranker} are on disk"
    return "offline", (f"the open-vocabulary models are not downloaded, so the offline finder "
                       f"answers (get them with `glimpse models pull {f.detector}` and "
                       f"`glimpse models pull {f.ranker}`)")


def from_config(config: Any, *, watch: bool = False) -> FinderEngine:
    """The configured finder, not loaded yet. `watch`: fewer crops (a 2x2 grid, no closer
    look), so a live camera is looked at several times a second."""
    engine, _why = choose(config)
    if engine == "open":
        from vision.finder.open_vocab import OpenVocabularyFinder

        return OpenVocabularyFinder.from_config(config)
    return OfflineFinder(WATCH if watch else FinderOptions())
