"""The first-run guide and the Settings dialog save only what the user chose: never the
command line's (--set, --offline) or the environment's one-run overrides."""
from __future__ import annotations


import PySide6  # noqa: F401 - required: a broken install fails here, never skips
import pytestqt  # noqa: F401 - required: a broken install fails here, never skips

from assistant import config as cfg  # noqa: E402
from ui.window.dialogs.first_run import FirstRunDialog, Hardware  # noqa: E402
from ui.window.dialogs.settings import SettingsDialog  # noqa: E402


def _running_with_overrides(path):
    path.write_text('[asr]\nmodel = "whisper:tiny.en"\n', encoding="utf-8")
    return cfg.load(path, environ={"GLIMPSE_TTS_RATE": "1.5"},
                    overrides={"models.offline": "true", "camera.source": "clip.mp4"})


def test_first_run_guide_saves_only_the_users_choice(qtbot, tmp_path):
    path = tmp_path / "config.toml"
    running = _running_with_overrides(path)
    dialog = FirstRunDialog(running, path, hardware=Hardware(ram_gb=8.0, vram_gb=None))
    qtbot.addWidget(dialog)
    saved = []
    dialog.saved.connect(saved.append)
    dialog.finish(True)
    on_disk = cfg.load(path, environ={})
    assert on_disk.models.offline is False and on_disk.camera.source == "0"
    assert on_disk.tts.rate == 1.0
    assert on_disk.ui.show_first_run is False
    for key, value in dialog.preset.values:
        assert on_disk.get(key) == cfg.Config().with_value(key, value).get(key)
    # This run keeps its overrides.
    assert saved[0].models.offline is True and saved[0].camera.source == "clip.mp4"


def test_first_run_keep_my_settings_writes_only_the_guide_flag(qtbot, tmp_path):
    path = tmp_path / "config.toml"
    running = _running_with_overrides(path)
    dialog = FirstRunDialog(running, path, hardware=Hardware(ram_gb=8.0, vram_gb=None))
    qtbot.addWidget(dialog)
    dialog.finish(False)
    on_disk = cfg.load(path, environ={})
    assert on_disk == cfg.Config().with_value("asr.model", "whisper:tiny.en").with_value(
        "ui.show_first_run", False)


def test_settings_dialog_saves_only_changed_fields(qtbot, tmp_path):
    path = tmp_path / "config.toml"
    running = _running_with_overrides(path)
    dialog = SettingsDialog(running, path)
    qtbot.addWidget(dialog)
    dialog.set_raw("ui.theme", "dark")
    assert dialog.save()
    on_disk = cfg.load(path, environ={})
    assert on_disk.ui.theme == "dark" and on_disk.asr.model == "whisper:tiny.en"
    assert on_disk.models.offline is False and on_disk.camera.source == "0"
    assert on_disk.tts.rate == 1.0


def test_settings_dialog_never_overwrites_a_broken_config_file(qtbot, tmp_path):
    path = tmp_path / "config.toml"
    dialog = SettingsDialog(cfg.Config(), path)
    qtbot.addWidget(dialog)
    path.write_text("[ui\ntheme = ", encoding="utf-8")
    dialog.set_raw("ui.theme", "dark")
    assert not dialog.save()
    assert path.read_text(encoding="utf-8") == "[ui\ntheme = "
    assert "is not valid TOML" in dialog.general_error.text()
    assert "Fix the file or move it away" in dialog.general_error.text()
