"""What a newcomer reads: words, not config keys; a status that tells the truth; notices with
an action; high contrast that keeps shapes and states. Real Qt widgets, offscreen."""
from __future__ import annotations

from pathlib import Path

import PySide6  # noqa: F401
import pytest
import pytestqt  # noqa: F401
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QCheckBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTableWidget,
    QWidget,
)

from assistant import config as cfg
from assistant.config import Config
from assistant.errors import ModelError
from ui.window import theme
from ui.window.banner import ModelBanner, covers, missing_vision_model
from ui.window.bridge import Bridge
from ui.window.dialogs.first_run import FirstRunDialog, Hardware
from ui.labels import RAW_TEXT, model_name
from ui.window.dialogs.models import ModelsDialog
from ui.window.dialogs.settings import ADVANCED, SettingsDialog
from ui.window.status_line import SET_UP, StatusModel

SMOL = "hf:HuggingFaceTB/SmolVLM2-500M-Video-Instruct"


def visible_texts(root: QWidget) -> list[str]:
    """Every text a person can read in `root`: labels, buttons, every item of every list,
    field values and hints, table cells and headers, accessible names and descriptions."""
    out = [root.windowTitle(), root.accessibleName(), root.accessibleDescription()]
    for w in [root] + root.findChildren(QWidget):
        out += [w.accessibleName(), w.accessibleDescription()]
        if isinstance(w, (QLabel, QAbstractButton)):
            out.append(w.text())
        if isinstance(w, QComboBox):
            out += [w.itemText(i) for i in range(w.count())] + [w.currentText()]
        if isinstance(w, QLineEdit):
            out += [w.text(), w.placeholderText()]
        if isinstance(w, QSpinBox):
            out.append(w.text())
        if isinstance(w, QTableWidget):
            for r in range(w.rowCount()):
                out += [w.item(r, c).text() for c in range(w.columnCount()) if w.item(r, c)]
            out += [w.horizontalHeaderItem(c).text() for c in range(w.columnCount())
                    if w.horizontalHeaderItem(c)]
    return [t for t in out if t]


def raw(texts: list[str]) -> list[str]:
    return [t for t in texts if RAW_TEXT.search(t)]


def settings_pages(dialog: SettingsDialog) -> dict[str, QWidget]:
    return {dialog.tabs.tabText(i): dialog.tabs.widget(i) for i in range(dialog.tabs.count())}


@pytest.mark.parametrize("overrides", [
    {},
    {"asr.model": "whisper:tiny.en", "vlm.backend": "describer", "tts.voice": "espeak-ng:de",
     "ui.theme": "high-contrast"},
    {"asr.model": "whisper:medium", "vlm.model": "hf:someone/Tiny-VLM", "tts.voice":
     "piper:en_GB-alan-low"},  # references not in the suggestions still read as names
])
def test_settings_show_words_not_keys_outside_the_advanced_page(qtbot, overrides):
    config = Config()
    for key, value in overrides.items():
        config = config.with_value(key, value)
    dialog = SettingsDialog(config, None)
    qtbot.addWidget(dialog)
    pages = settings_pages(dialog)
    assert list(pages)[-1] == ADVANCED
    for title, page in pages.items():
        if title != ADVANCED:
            assert raw(visible_texts(page)) == [], title
    assert raw([dialog.windowTitle(), dialog.general_error.text()]
               + [dialog.tabs.tabText(i) for i in range(dialog.tabs.count())]) == []
    # The keys are there, on the one page meant for them (so this test can see them).
    assert "ui.font_scale" in " ".join(visible_texts(pages[ADVANCED]))
    # And the values read as words.
    combo = dialog.editors["asr.model"]
    assert combo.currentText() == model_name(config.asr.model)
    assert dialog.raw_value("asr.model") == config.asr.model
    assert dialog.editors["ui.font_scale"].text() == "100 %"


def test_settings_values_are_named_and_saved_as_config_values(qtbot, tmp_path):
    path = tmp_path / "config.toml"
    dialog = SettingsDialog(Config(), path)
    qtbot.addWidget(dialog)
    backend = dialog.editors["vlm.backend"]
    backend.setCurrentIndex(backend.findData("describer"))
    assert backend.currentText() == ("Offline describer: reads text, finds people; "
                                     "no open questions")
    asr = dialog.editors["asr.model"]
    asr.setCurrentIndex(asr.findData("whisper:tiny.en"))
    assert asr.currentText() == "Whisper Tiny (English, 72 MB, fastest)"
    dialog.editors["ui.font_scale"].setValue(150)
    theme_box = dialog.editors["ui.theme"]
    assert [theme_box.itemText(i) for i in range(theme_box.count())] == [
        "Same as the system", "Light", "Dark", "High contrast (white on black)"]
    assert dialog.save()
    loaded = cfg.load(path, environ={})
    assert (loaded.vlm.backend, loaded.asr.model, loaded.ui.font_scale) == (
        "describer", "whisper:tiny.en", 1.5)


class FakeBackend:
    """The model store seen through the dialog's calls: a port with a fake, as in bootstrap."""

    def __init__(self, root: Path) -> None:
        self.root = root
        pack = root / "site-packages" / "pack" / "whisper-base"
        (root / "cache" / "ct2" / "faster-whisper-base").mkdir(parents=True)
        pack.mkdir(parents=True)
        self.rows = [
            {"name": "whisper:base", "kind": "asr", "bytes": 150_000_000, "source": "cache",
             "path": str(root / "cache" / "ct2" / "faster-whisper-base")},
            {"name": "whisper:base", "kind": "asr", "bytes": 150_000_000,
             "source": "offline pack", "path": str(pack)},
            {"name": "whisper:base", "kind": "asr", "bytes": 145_000_000, "source": "cache",
             "path": str(root / "cache" / "converted" / "whisper-base.pt")},
            {"name": "whisper:tiny.en", "kind": "asr", "bytes": 75_000_000,
             "source": "offline pack", "path": str(root / "tiny")},
            {"name": "whisper:tiny.en", "kind": "asr", "bytes": 75_000_000, "source": "cache",
             "path": str(root / "tiny2")},
        ]

    def installed(self):
        return list(self.rows)

    def missing(self):
        return [SMOL]

    def download(self, model, on_progress, cancel):
        raise ModelError(f"Could not download {model}: network unreachable",
                         f"Run `glimpse models pull {model}` while online")


def test_models_dialog_one_row_per_model_missing_listed_paths_in_tooltips(qtbot, tmp_path):
    backend = FakeBackend(tmp_path)
    got: list[str] = []

    def downloader(model, on_progress, cancel):
        got.append(model)
        on_progress(1, 1)
        return tmp_path / "x"

    opened = []
    bridge = Bridge(Config(), pipeline_factory=lambda c: None)
    dialog = ModelsDialog(bridge, Config(), backend=backend, downloader=downloader,
                          opener=opened.append)
    qtbot.addWidget(dialog)
    names = [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())]
    # Names without the download size: the Size column says how big each is here, and the two
    # never disagree ("139 MB" in the name of a model listed as 150 MB).
    assert names == ["Whisper Base (many languages, fast)", "Whisper Tiny (English, fastest)",
                     model_name(SMOL, size=False)]
    assert dialog.table.item(0, 2).text() == "150 MB"
    assert dialog.table.item(0, 3).text() == "Downloaded, Offline pack"
    assert dialog.table.item(2, 3).text() == "Not on this computer"
    assert dialog.table.item(2, 2).text() == "about 1.0 GB"
    tip = dialog.table.item(0, 0).toolTip()
    assert all(row["path"] in tip for row in backend.rows[:3])
    assert raw(visible_texts(dialog)) == []
    # Show folder opens the selected model's folder.
    dialog.table.setCurrentCell(0, 0)
    assert dialog.show_folder() == backend.rows[0]["path"]
    assert opened[0].toLocalFile() == backend.rows[0]["path"]
    # The missing model's own Download button fetches that reference.
    button = dialog.table.cellWidget(2, 4)
    assert isinstance(button, QPushButton) and button.text() == "Download"
    button.click()
    qtbot.waitUntil(lambda: dialog._task is None and bool(got), timeout=10000)
    assert got == [SMOL] and dialog.last_error == ""
    bridge.shutdown()


def test_models_dialog_opens_on_a_model_and_failed_download_points_at_settings(qtbot):
    from ui.window.dialogs.models import OFFLINE

    config = Config().with_value("models.offline", True)
    bridge = Bridge(config, pipeline_factory=lambda c: None)
    backend = FakeBackend.__new__(FakeBackend)
    backend.rows = []
    dialog = ModelsDialog(bridge, config, backend=backend, focus=SMOL)
    qtbot.addWidget(dialog)
    assert dialog.model.currentData() == SMOL
    assert dialog.model.currentText() == model_name(SMOL)
    # Offline: nothing is fetched, and the dialog says exactly that (never "complete").
    assert dialog.download() is None and dialog._task is None
    assert dialog.message.text() == OFFLINE
    assert "complete" not in dialog.progress.format().lower()
    # Online, a download that fails says what to do in the window's words.
    online = Config()
    dialog = ModelsDialog(bridge, online, backend=backend, focus=SMOL)
    qtbot.addWidget(dialog)
    dialog.download()
    qtbot.waitUntil(lambda: dialog._task is None, timeout=10000)
    text = dialog.message.text()
    assert "internet connection" in text and "Download again" in text
    assert "glimpse models pull" not in text and "while online" not in text
    assert raw([text]) == [] and "SmolVLM2 500M" in text
    assert "failed: nothing was downloaded" in dialog.progress.format()
    bridge.shutdown()


def test_models_dialog_on_the_real_store_speaks_words(qtbot):
    config = Config().with_value("models.offline", True)
    bridge = Bridge(config, pipeline_factory=lambda c: None)
    dialog = ModelsDialog(bridge, config)
    qtbot.addWidget(dialog)
    refs = [r["name"] for r in dialog.rows]
    assert len(refs) == len(set(refs))
    assert raw(visible_texts(dialog)) == []
    bridge.shutdown()


def test_first_run_guide_says_what_each_preset_can_do_and_its_size(qtbot, tmp_path):
    dialog = FirstRunDialog(Config(), tmp_path / "c.toml",
                            hardware=Hardware(ram_gb=4, vram_gb=None, cpu_cores=2))
    qtbot.addWidget(dialog)
    assert raw(visible_texts(dialog)) == []
    radios = dialog.findChildren(QRadioButton)
    assert len(radios) == 2
    small = dialog.radios["small-cpu"]
    assert small.isChecked() and "(recommended for this computer)" in small.text()
    assert "cannot answer open questions" in dialog.sentences["small-cpu"].text()
    assert "cannot answer open questions" in small.accessibleDescription()
    balanced = dialog.sentences["balanced-cpu"].text()
    assert "Download: about" in balanced and "GB" in balanced
    assert "recommended" not in dialog.radios["balanced-cpu"].text()
    # A full detection arriving later re-recommends, unless the user already chose.
    dialog.set_hardware(Hardware(ram_gb=32, vram_gb=None, cpu_cores=8))
    assert dialog.preset.key == "balanced-cpu"
    dialog.radios["small-cpu"].click()
    dialog.set_hardware(Hardware(ram_gb=32, vram_gb=None, cpu_cores=8))
    assert dialog.preset.key == "small-cpu"
    dialog.finish(True)
    assert cfg.load(tmp_path / "c.toml", environ={}).vlm.backend == "describer"


@pytest.mark.parametrize("name,least", [("high-contrast", 7.0), ("light", 4.5), ("dark", 4.5)])
def test_theme_text_contrast_meets_wcag(name, least):
    pairs = theme.text_pairs(name)
    assert pairs
    low = [(what, round(theme.contrast(fg, bg), 2)) for what, fg, bg in pairs
           if theme.contrast(fg, bg) < least]
    assert low == []


def _count(image, colour: str) -> int:
    want = QColor(colour).rgb()
    return sum(1 for x in range(image.width()) for y in range(image.height())
               if image.pixel(x, y) == want)


def test_high_contrast_check_boxes_and_disabled_buttons_keep_their_shape(qtbot):
    app = QApplication.instance()
    theme.apply(app, "high-contrast")
    try:
        on, off = QCheckBox("On"), QCheckBox("Off")
        on.setChecked(True)
        enabled, disabled = QPushButton("Cancel download"), QPushButton("Cancel download")
        disabled.setEnabled(False)
        for w in (on, off, enabled, disabled):
            qtbot.addWidget(w)
            w.resize(w.sizeHint())
        on_img, off_img = on.grab().toImage(), off.grab().toImage()
        assert _count(on_img, "#ffff00") > 60  # the box is filled when checked
        assert _count(off_img, "#ffff00") == 0
        assert _count(off_img, "#ffffff") > 40  # an empty box is still drawn
        assert _count(enabled.grab().toImage(), "#c0c0c0") == 0
        assert _count(disabled.grab().toImage(), "#c0c0c0") > 40  # dashed grey outline
    finally:
        theme.apply(app, "system")


def test_banner_download_and_keep_the_describer_remembered(qtbot, tmp_path):
    path = tmp_path / "config.toml"
    config = Config().with_value("models.offline", True)  # a one-run override (--offline)
    ref = missing_vision_model(config, [("asr.model", "whisper:base.en", "x"),
                                        ("vlm.model", SMOL, "downloaded on first use")])
    assert ref == SMOL
    # The banner reads the running config when acted on: here the user has meanwhile chosen
    # Whisper Tiny (the guide's small preset), which must not be undone by the banner's choice.
    running = [config]
    banner = ModelBanner(lambda: running[0], ref, path)
    qtbot.addWidget(banner)
    running[0] = config.with_value("asr.model", "whisper:tiny.en")
    assert raw(visible_texts(banner)) == []
    assert "1.0 GB" in banner.text.text() and "cannot answer open questions" in banner.text.text()
    with qtbot.waitSignal(banner.download_requested) as wanted:
        banner.download.click()
    assert wanted.args == [SMOL]
    with qtbot.waitSignal(banner.config_saved) as saved:
        banner.keep.click()
    assert banner.isHidden()
    new = saved.args[0]
    on_disk = cfg.load(path, environ={})
    assert on_disk.vlm.backend == "describer"
    assert on_disk.models.offline is False  # only the choice is saved, not the override
    assert new.models.offline is True and new.vlm.backend == "describer"
    assert new.asr.model == "whisper:tiny.en"  # the choice made since the banner appeared
    # Acted on: with the describer chosen it is never wanted again.
    assert missing_vision_model(new, [("vlm.model", SMOL, "")]) == ""
    assert covers("The VLM hf:HuggingFaceTB/SmolVLM2-500M-Video-Instruct is not downloaded")
    assert not covers("I didn't catch a question")


def test_status_says_ready_only_when_every_stage_is_ready(qtbot):
    m = StatusModel()
    m.on_pipeline("starting")
    assert m.text() == "Starting"
    m.on_pipeline("running")
    m.on_status("asr", "loading", "fast")
    m.on_status("answer", "loading", "describer")
    m.on_status("tts", "ready", "piper:en_US-joe-medium")
    assert m.text() == "Starting: speech, answers loading (1 of 3 ready)"
    assert not m.ready()
    m.on_status("asr", "ready", "fast")
    m.on_status("answer", "ready", "describer")
    # Every stage that reported is ready, but not every stage has finished its setup yet (the
    # microphone and the speaker say nothing when they open): not Ready before the bridge's mark.
    assert m.text() == "Starting (3 of 3 ready)" and not m.ready()
    m.on_status("pipeline", SET_UP)
    assert m.text() == "Ready" and m.ready()
    assert "Voice: ready (Joe (US English, natural voice))" in m.details()
    assert "Speech recognition: ready (Whisper)" in m.details()
    m.on_status("pipeline", "thinking")
    assert m.text() == "Thinking"
    m.on_status("pipeline", "idle")
    assert m.text() == "Ready"
    # Watch mode between turns: said, and it is no part that is "loading".
    m.on_status("watch", "loading", "finder")
    assert m.text() == "Ready" and m.ready()
    m.on_status("watch", "watching", "keys")
    assert m.text() == "Watching for keys" and m.ready()
    assert 'Watch mode: watching for keys (Escape or "stop" ends it)' in m.details()
    m.on_status("pipeline", "listening")
    assert m.text() == "Listening"
    m.on_status("pipeline", "idle")
    assert m.text() == "Watching for keys"
    m.on_status("watch", "idle")
    assert m.text() == "Ready"
    m.on_device("speaker", "no speaker: answers are shown as text")
    assert m.text() == "Ready. No speaker: answers are shown as text." and m.ready()
    m.on_error("tts", "The voice could not load.")
    assert m.text() == ("Problem with the voice: The voice could not load. No speaker: "
                        "answers are shown as text.") and not m.ready()


def test_status_and_conversation_say_when_the_offline_path_answered(qtbot):
    """With a VLM the answer is the model's; an answer from the offline describer is marked
    as such on the status line, in its tooltip and beside the answer in the conversation."""
    from ui.window.conversation import Conversation, ConversationView

    m = StatusModel()
    m.on_pipeline("running")
    m.on_status("answer", "ready", "describer")
    m.on_status("pipeline", SET_UP)
    assert m.text() == "Ready"
    m.on_answer("describer")
    assert m.text() == "Ready (last answer from the offline path)" and m.ready()
    assert "Last answer: from the offline path, without the vision model" in m.details()
    m.on_answer("watch")  # watch mode's "I'll tell you when..." changes nothing
    assert m.text() == "Ready (last answer from the offline path)"
    m.on_answer("vlm:Idefics3ForConditionalGeneration")
    assert m.text() == "Ready" and "Last answer" not in m.details()
    m.on_answer("describer")
    m.on_pipeline("starting")  # a new pipeline, perhaps with a model now
    m.on_pipeline("running")
    m.on_status("pipeline", SET_UP)
    assert m.text() == "Ready"

    conversation = Conversation()
    turn = conversation.turn(1)
    turn.question, turn.answer, turn.source, turn.finished = (
        "Is there a cup?", "Yes, I see a cup.", "describer", True)
    view = ConversationView(conversation)
    qtbot.addWidget(view)
    view.render_now()
    assert ("Glimpse (from the offline path, without the vision model): Yes, I see a cup."
            in view.toPlainText())
    turn.source = "vlm:Idefics3ForConditionalGeneration"
    view.render_now()
    assert "Glimpse: Yes, I see a cup." in view.toPlainText()


def test_level_meter_reads_once_in_words():
    from ui.window.level_meter import level_words

    assert level_words(0.0, 0.0) == (0, "Mic: 0% (silent)")
    assert level_words(0.05, 0.2)[1] == "Mic: 33% (good)"
    assert level_words(1.0, 1.0) == (100, "Mic: 100% (too loud), clipping")


def test_camera_view_takes_the_pictures_shape_without_bars(qtbot):
    from PySide6.QtWidgets import QVBoxLayout

    from ui.window.camera_view import CameraView

    holder = QWidget()
    layout = QVBoxLayout(holder)
    layout.setContentsMargins(0, 0, 0, 0)
    view = CameraView()
    layout.addWidget(view)
    layout.addStretch(1)
    qtbot.addWidget(holder)
    image = QImage(640, 360, QImage.Format_RGB32)
    image.fill(QColor("#ff0000"))
    view.set_image(image)
    holder.resize(640, 700)
    holder.show()
    qtbot.waitExposed(holder)
    qtbot.waitUntil(lambda: view.height() == 360, timeout=3000)
    shot = view.grab().toImage()
    assert shot.width() == 640
    corners = [shot.pixel(x, y) for x, y in ((0, 0), (639, 0), (0, 359), (639, 359))]
    assert corners == [QColor("#ff0000").rgb()] * 4  # the picture reaches every edge
    assert view.target().size() == view.size()
    assert not view.pixmap().isNull()  # screen readers are told it is an image
