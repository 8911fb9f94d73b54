"""Fault matrix: the config file changed to invalid TOML while Glimpse runs. The running window
keeps its settings (and never overwrites the file); the next start sets the file aside with a
message and starts from the defaults."""
from __future__ import annotations

import json
import os
import subprocess
import sys


import PySide6  # noqa: F401 - required: a broken install fails here, never skips
import pytestqt  # noqa: F401 - required: a broken install fails here, never skips

from assistant import config as cfg  # noqa: E402
from tests.support.window import FakeFactory  # noqa: E402
from ui.window.app import App  # noqa: E402
from tests.support import ROOT

BROKEN = '[tts]\nrate = 1.5\n[ui\ntheme = "dark"\n'


def test_invalid_toml_while_running(qtbot, tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[tts]\nrate = 1.5\n[turns]\nmode = "toggle"\n', encoding="utf-8")
    config = cfg.load(path, environ={})
    app = App(config, pipeline_factory=FakeFactory(), global_shortcut=False, first_run=False,
              config_path=path)
    qtbot.addWidget(app.window)
    app.start()
    try:
        qtbot.waitUntil(lambda: app.bridge.state == "running", timeout=10000)
        path.write_text(BROKEN, encoding="utf-8")
        # A turn still works, with the settings the window started with.
        app.window.question.setText("still there?")
        app.window.ask_typed()
        qtbot.waitUntil(lambda: bool(app.window.conversation.turns)
                        and app.window.conversation.turns[-1].finished, timeout=10000)
        assert app.window.conversation.turns[-1].answer
        assert app.bridge.config == config and app.bridge.config.turns.mode == "toggle"
        # Saving Settings now refuses to overwrite the file the user is editing, and says why.
        dialog = app.open_settings()
        dialog.set_raw("ui.theme", "light")
        assert not dialog.save()
        assert "is not valid TOML" in dialog.general_error.text()
        assert path.read_text(encoding="utf-8") == BROKEN
        assert app.bridge.config == config
        dialog.reject()
    finally:
        app.close()
    # The next start: the file is set aside with one message, the defaults are used.
    env = dict(os.environ, GLIMPSE_CONFIG_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-m", "ui.cli", "config", "show"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    warnings = [line for line in out.stderr.splitlines() if "could not be read" in line]
    assert len(warnings) == 1 and "It was moved to" in warnings[0]
    assert json.loads(out.stdout)["tts"]["rate"] == 1.0
    aside = list(tmp_path.glob("config.toml.bad-*"))
    assert len(aside) == 1 and aside[0].read_text(encoding="utf-8") == BROKEN
    assert not path.exists()
