"""Settings round trip, models dialog downloads over loopback HTTP, help, first run."""
from __future__ import annotations

import http.server
import os
import threading

import pytest

# Required dependencies: a broken install fails here instead of turning into skips.
import PySide6  # noqa: F401
import pytestqt  # noqa: F401

from assistant import config as cfg  # noqa: E402
from assistant.config import Config  # noqa: E402
from ui.window.bridge import Bridge  # noqa: E402
from ui.window.dialogs.first_run import FirstRunDialog, Hardware, recommend  # noqa: E402
from ui.window.dialogs.help import HelpDialog  # noqa: E402
from ui.window.dialogs.models import ModelsDialog, http_download, url_downloader  # noqa: E402
from ui.window.dialogs.settings import NO_AUDIO, SettingsDialog  # noqa: E402
from ui.window.keys.shortcuts import SHORTCUTS  # noqa: E402


def test_settings_round_trip(qtbot, tmp_path):
    path = tmp_path / "config.toml"
    dialog = SettingsDialog(Config(), path)
    qtbot.addWidget(dialog)
    saved = []
    dialog.saved.connect(saved.append)
    changes = {"asr.model": "whisper:tiny.en", "vlm.backend": "describer",
               "tts.voice": "espeak-ng:de", "asr.language": "de", "tts.rate": "1.25",
               "audio.volume": "0.7", "scene.verbosity": "brief", "turns.mode": "toggle",
               "earcons.enabled": False, "models.offline": True,
               "vlm.remote_url": "http://localhost:11434/v1", "ui.theme": "high-contrast",
               "ui.font_scale": "1.5", "camera.source": "", "audio.input_device": ""}
    for key, value in changes.items():
        dialog.set_raw(key, value)
    assert dialog.save()
    loaded = cfg.load(path, environ={})
    assert loaded == saved[0]
    assert loaded.tts.rate == 1.25 and loaded.turns.mode == "toggle"
    assert loaded.models.offline is True and loaded.ui.theme == "high-contrast"
    assert loaded.asr.language == "de" and loaded.camera.source == ""
    # The dialog opened on the saved config shows the same values again.
    again = SettingsDialog(loaded, path)
    qtbot.addWidget(again)
    assert again.build() == (loaded, {})


def test_settings_invalid_value_is_shown_inline_and_not_saved(qtbot, tmp_path):
    path = tmp_path / "config.toml"
    dialog = SettingsDialog(Config(), path)
    qtbot.addWidget(dialog)
    dialog.set_raw("history.keep_days", "many")
    dialog.set_raw("ui.global_shortcut", "<ctrl>+<alt>+g")  # fine: not counted
    dialog.set_raw("vlm.remote_url", "http://localhost:1/v1")
    dialog.set_raw("tts.rate", 1.5)
    assert not dialog.save()
    assert not path.exists()
    # In the field's own words, with the allowed range; never the config key.
    text = dialog.errors["history.keep_days"].text()
    assert text == ("Problem: Days of history kept: 'many' is not possible. Use a whole "
                    "number from 1 to 3650.")
    assert not dialog.errors["history.keep_days"].isHidden()
    assert "1 setting(s) need fixing" in dialog.general_error.text()
    assert "history.keep_days" not in dialog.general_error.text()
    # Rate, volume and text size are spin boxes in percent: out-of-range cannot be typed.
    assert dialog.editors["tts.rate"].suffix() == " %"
    assert dialog.raw_value("tts.rate") == 1.5
    dialog.editors["audio.volume"].setValue(900)
    assert dialog.raw_value("audio.volume") == 2.0


def test_device_lists_say_when_there_is_no_audio_server(qtbot):
    dialog = SettingsDialog(Config())
    qtbot.addWidget(dialog)
    combo = dialog.editors["audio.input_device"]
    labels = [combo.itemText(i) for i in range(combo.count())]
    assert labels[0] == "System default"
    # Either real devices are listed, or the list says why there are none.
    assert len(labels) > 1
    if any(NO_AUDIO in label for label in labels):
        assert NO_AUDIO in combo.accessibleDescription()


class _Handler(http.server.BaseHTTPRequestHandler):
    payload = os.urandom(3 * 1024 * 1024)
    ranges: list[str] = []
    gate = threading.Event()  # the first response stalls halfway until the test cancels

    def do_GET(self):  # noqa: N802
        start = 0
        rng = self.headers.get("Range")
        if rng:
            self.ranges.append(rng)
            start = int(rng.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(self.payload) - 1}/"
                                              f"{len(self.payload)}")
        else:
            self.send_response(200)
        body = self.payload[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        half = len(body) // 2 if not rng else len(body)
        try:
            self.wfile.write(body[:half])
            if half < len(body):
                self.wfile.flush()
                self.gate.wait(10)
                self.wfile.write(body[half:])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client cancelled: that is the point of the test

    def log_message(self, *args):
        pass


@pytest.fixture
def loopback():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/model.bin"
    _Handler.gate.set()
    server.shutdown()
    server.server_close()


def test_models_dialog_download_progress_cancel_and_resume(qtbot, tmp_path, loopback):
    _Handler.gate.clear()
    _Handler.ranges.clear()
    bridge = Bridge(Config(), pipeline_factory=lambda c: None)
    dialog = ModelsDialog(bridge, Config(), backend=None, downloader=url_downloader(tmp_path))
    qtbot.addWidget(dialog)
    progress = []
    bridge.task_progress.connect(lambda t, d, n: progress.append((d, n)))
    dialog.download(loopback)
    total = len(_Handler.payload)
    qtbot.waitUntil(lambda: bool(progress) and progress[-1][0] >= total // 2, timeout=10000)
    assert progress[-1][1] == total
    assert "of 3.0 MB" in dialog.progress.format()
    dialog.cancel()
    _Handler.gate.set()  # let the server go on; the client has stopped reading
    qtbot.waitUntil(lambda: dialog._task is None, timeout=10000)
    assert dialog.last_error == "cancelled"
    assert "resume" in dialog.message.text()
    part = tmp_path / "model.bin.part"
    assert part.exists() and 0 < part.stat().st_size < total
    # Download again: resumes with a Range request and completes.
    dialog.download(loopback)
    qtbot.waitUntil(lambda: dialog._task is None, timeout=10000)
    assert dialog.last_error == ""
    assert _Handler.ranges and _Handler.ranges[-1].startswith("bytes=")
    assert (tmp_path / "model.bin").read_bytes() == _Handler.payload
    assert dialog.progress.value() == 1000 and dialog.progress.format() == "Download complete"
    assert "model store is not available" in dialog.note_label.text() or dialog.backend
    bridge.shutdown()


def test_http_download_reports_progress_directly(tmp_path, loopback):
    _Handler.gate.set()
    seen = []
    out = http_download(loopback, tmp_path / "x.bin", lambda d, t: seen.append((d, t)),
                        threading.Event())
    assert out.read_bytes() == _Handler.payload
    assert seen[0][0] == 0 and seen[-1] == (len(_Handler.payload), len(_Handler.payload))


def test_help_lists_every_shortcut(qtbot):
    dialog = HelpDialog("Global push-to-talk: Ctrl+Alt+Space")
    qtbot.addWidget(dialog)
    text = dialog.text.toPlainText()
    for s in SHORTCUTS:
        assert s.keys in text
    assert "Global push-to-talk" in text


def test_first_run_recommendation_and_privacy(qtbot, tmp_path):
    assert recommend(Hardware(ram_gb=4, vram_gb=None)).values == (
        ("asr.model", "whisper:tiny.en"), ("vlm.backend", "describer"))
    assert "GPU" in recommend(Hardware(ram_gb=64, vram_gb=24, gpu="H100")).name
    path = tmp_path / "config.toml"
    dialog = FirstRunDialog(Config(), path, hardware=Hardware(ram_gb=16, vram_gb=None))
    qtbot.addWidget(dialog)
    texts = " ".join(label.text() for label in dialog.findChildren(type(dialog.message)))
    assert "never leave it unless you configure a remote backend" in texts
    dialog.finish(True)
    loaded = cfg.load(path, environ={})
    assert loaded.ui.show_first_run is False and loaded.asr.model == "whisper:base.en"


def test_opencv_qt_paths_are_removed_before_qt_starts():
    from ui.window.app import clean_qt_environment

    env = {"QT_QPA_PLATFORM_PLUGIN_PATH": "/x/site-packages/cv2/qt/plugins",
           "QT_QPA_FONTDIR": "/x/site-packages/cv2/qt/fonts", "QT_PLUGIN_PATH": "/usr/lib/qt6"}
    assert sorted(clean_qt_environment(env)) == ["QT_QPA_FONTDIR", "QT_QPA_PLATFORM_PLUGIN_PATH"]
    assert env == {"QT_PLUGIN_PATH": "/usr/lib/qt6"}


def test_global_shortcut_combo_is_written_for_pynput():
    from ui.window.keys.shortcuts import pynput_combo

    assert pynput_combo("<ctrl>+<alt>+space") == "<ctrl>+<alt>+<space>"
    assert pynput_combo("Ctrl+Alt+G") == "<ctrl>+<alt>+g"


def test_models_dialog_on_the_real_store(qtbot, tmp_path):
    """With the model store present: installed models listed, verify runs on the pool."""
    config = Config().with_value("models.offline", True)
    bridge = Bridge(config, pipeline_factory=lambda c: None)
    dialog = ModelsDialog(bridge, config)
    qtbot.addWidget(dialog)
    assert dialog.note == ""
    names = [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())]
    assert names and names[0] != "Unknown"
    if names == ["No models installed yet"]:
        pytest.skip("no offline pack installed here")
    dialog.table.setCurrentCell(0, 0)
    dialog.verify()
    qtbot.waitUntil(lambda: dialog._task is None, timeout=60000)
    assert dialog.last_error == "", dialog.last_error
    assert "Verify finished" in dialog.message.text()
    bridge.shutdown()
