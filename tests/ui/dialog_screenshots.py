"""Screenshots of the dialogs a newcomer meets, for docs/gui.md (run on an X server).

The first-run guide, every Settings page, the Models dialog (on this computer's real model
store, offline) and the missing-model banner, each in the normal (light) and the
high-contrast theme, grabbed from the X server as the user sees them.

    xvfb-run -a -s "-screen 0 1280x800x24" python -m tests.ui.dialog_screenshots docs/screenshots
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from ui.window.app import clean_qt_environment


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    clean_qt_environment()
    # The guide names the history file: show a typical user's path, not this computer's.
    os.environ["GLIMPSE_DATA_DIR"] = "/home/you/.local/share/glimpse"

    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from assistant.config import Config
    from ui.window import theme
    from ui.window.banner import ModelBanner
    from ui.window.bridge import Bridge
    from ui.window.dialogs.first_run import FirstRunDialog, Hardware
    from ui.window.dialogs.models import ModelsDialog
    from ui.window.dialogs.settings import SettingsDialog

    app = QApplication(sys.argv[:1])
    config = Config().with_value("models.offline", True)
    bridge = Bridge(config, pipeline_factory=lambda c: None)
    saved: list[Path] = []

    def shot(widget, name: str) -> None:
        widget.show()
        if not QTest.qWaitForWindowExposed(widget, 5000):
            raise RuntimeError(f"{name}: the window was never shown")
        QTest.qWait(150)  # let layouts and style sheets settle before the grab
        path = out / f"{name}.png"
        if not widget.screen().grabWindow(widget.winId()).save(str(path)):
            raise RuntimeError(f"could not save {path}")
        saved.append(path)

    for name in ("light", "high-contrast"):
        theme.apply(app, name)
        guide = FirstRunDialog(config, None, hardware=Hardware(ram_gb=8, vram_gb=None,
                                                                 cpu_cores=2))
        shot(guide, f"first-run-{name}")
        guide.close()
        guide.deleteLater()
        settings = SettingsDialog(config.with_value("ui.theme", name), None)
        for i in range(settings.tabs.count()):
            settings.tabs.setCurrentIndex(i)
            page = settings.tabs.tabText(i).lower()
            shot(settings, f"settings-{page}-{name}")
        settings.set_raw("history.keep_days", "many")
        settings.tabs.setCurrentIndex(next(i for i in range(settings.tabs.count())
                                           if settings.tabs.tabText(i) == "Privacy"))
        settings.save()
        shot(settings, f"settings-problem-{name}")
        settings.close()
        settings.deleteLater()
        models = ModelsDialog(bridge, config)
        models.resize(900, 480)
        shot(models, f"models-{name}")
        models.close()
        models.deleteLater()
        banner = ModelBanner(Config, "hf:HuggingFaceTB/SmolVLM2-500M-Video-Instruct")
        banner.resize(820, 110)
        shot(banner, f"banner-{name}")
        banner.close()
        banner.deleteLater()
        app.processEvents()
    bridge.shutdown()
    print("\n".join(map(str, saved)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
