"""Which photo-search analyser answers: the CLIP one when the finder's choice is the
open-vocabulary models (`vision.finder.choice.choose`), else the offline one."""
from __future__ import annotations

from typing import Any

from vision.finder.choice import choose


def search_analyser(config: Any, engine: str | None = None, ocr: str = "auto") -> tuple[Any, str]:
    """The photo-search analyser `finder.engine` (or `engine`) asks for, not loaded, and why it
    was chosen (auto: the CLIP one when its model is downloaded, else the offline one)."""
    chosen, why = choose(config.with_value("finder.engine", engine) if engine else config)
    if chosen == "open":
        from vision.search.clip import ClipAnalyser

        return ClipAnalyser.from_config(config), why
    from vision.search.photos import OfflineAnalyser

    return OfflineAnalyser(ocr=ocr), why
