"""Screenshots of the main window for docs/gui.md (run on an X server).

The window at rest and after an answer, the Help dialog, (Ctrl+D on a street photo, then a typed question), at
1366x768 and at its minimum size, in the light and the high-contrast theme, grabbed from the X
server as the user sees them. The pipeline runs on the test fakes (scripted answers, the
repository's photos as the camera), so the pictures show the window, not a model's luck.

    xvfb-run -a -s "-screen 0 1366x768x24" python -m tests.ui.window_screenshots docs/screenshots
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from ui.window.app import clean_qt_environment


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    clean_qt_environment()
    os.environ["GLIMPSE_DATA_DIR"] = tempfile.mkdtemp(prefix="glimpse-shots-")

    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from assistant import events as ev
    from assistant.config import Config
    from tests.support.window import FakeFactory
    from ui.window import theme
    from ui.window.app import App

    saved: list[Path] = []

    def wait(predicate, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError("the window did not get there")
            QTest.qWait(20)

    for theme_name in ("light", "high-contrast"):
        config = Config().with_value("ui.theme", theme_name).with_value("history.enabled", False)
        app = App(config, pipeline_factory=FakeFactory(), global_shortcut=False, first_run=False)
        theme.apply(QApplication.instance(), theme_name, 1.0)
        w = app.window
        w.move(0, 0)
        w.resize(1366, 768)
        app.start()
        wait(lambda: app.bridge.state == "running" and w.preview.picture is not None
             and w.status.ready())
        suffix = theme_name

        def shot(label: str) -> None:
            QTest.qWait(200)  # let the layout settle before the grab
            path = out / f"window-{label}-{suffix}.png"
            if not w.screen().grabWindow(w.winId()).save(str(path)):
                raise RuntimeError(f"could not save {path}")
            saved.append(path)

        shot("at-rest")
        w.describe_now()
        wait(lambda: bool(w.conversation.turns) and w.conversation.turns[-1].finished)
        app.bridge.submit(ev.Ask(text="What colour is the car?"))
        wait(lambda: len(w.conversation.turns) >= 2 and w.conversation.turns[-1].finished)
        shot("answered")
        help_dialog = app.open_help()
        wait(help_dialog.isVisible)
        QTest.qWait(200)
        path = out / f"help-{suffix}.png"
        if not help_dialog.screen().grabWindow(help_dialog.winId()).save(str(path)):
            raise RuntimeError(f"could not save {path}")
        saved.append(path)
        help_dialog.reject()
        w.resize(w.minimumSize())
        shot("minimum-size")
        app.close()
        QTest.qWait(100)
    print("\n".join(map(str, saved)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
