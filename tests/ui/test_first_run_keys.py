"""The first-run guide says which talk key to use with a screen reader (offscreen Qt)."""
from __future__ import annotations

import PySide6  # noqa: F401 - required: a broken install fails here, never skips
import pytestqt  # noqa: F401 - required: a broken install fails here, never skips

from PySide6.QtWidgets import QLabel  # noqa: E402

from assistant.config import Config  # noqa: E402
from ui.window.dialogs.first_run import FirstRunDialog, Hardware, talk_key_text  # noqa: E402


def test_the_guide_names_the_talk_keys_for_screen_reader_users(qtbot, tmp_path):
    dialog = FirstRunDialog(Config(), tmp_path / "config.toml",
                            hardware=Hardware(ram_gb=16, vram_gb=None))
    qtbot.addWidget(dialog)
    texts = [label.text() for label in dialog.findChildren(QLabel)]
    said = [t for t in texts if t.startswith("With a screen reader")]
    assert said == [talk_key_text("<ctrl>+<alt>+space")], texts
    assert "hold Space in the Glimpse window, or Ctrl+Alt+Space from any window" in said[0]


def test_without_a_global_key_only_space_is_named():
    assert "from any window" not in talk_key_text("")
    assert "Ctrl+G from any window" in talk_key_text("<ctrl>+g")
