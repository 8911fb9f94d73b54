"""The main window: camera, conversation, push-to-talk, stop, mode, mic level, status.

It talks to the core only through the `Bridge` (signals in, `bridge.submit` out) and never
starts a thread or waits on a model. Every control has an accessible name and description, a
keyboard shortcut (see `ui.window.keys.shortcuts.SHORTCUTS`) that works wherever the focus is in
the window (the question box included), and states are written out in words.

Problems are said once (`ui.window.problems`): a device that does not work is a state (the
device bar, the status line, one announcement), never a dialog per turn nor an "Error" in every
turn; the Talk key with no microphone says to type instead and starts no turn. "Glimpse is ready"
is announced when the status line first says Ready: every stage has finished its setup.
"""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontMetrics, QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from assistant import events as ev
from ui import labels
from ui.window.a11y import name
from ui.window.announce import VOICES, Announcer, QuestionBox, ReadableText, settle_answer_voice
from ui.window.banner import covers as banner_covers
from ui.window.bridge import Bridge
from ui.window.camera_view import CameraView
from ui.window.problems import (
    DEVICE_OF_STAGE,
    DEVICES,
    DeviceBar,
    DeviceState,
    ProblemDialogs,
    announcement,
)
from ui.window.status_line import PROBLEM_WITH, SET_UP, OneLine, StatusModel
from ui.window.conversation import THUMB_WIDTH, Conversation, ConversationView, bgr_to_qimage
from ui.window.level_meter import level_words
from ui.window.keys.repeat import KeyRepeat
from ui.window.menus import MODES, build_menus
from ui.window.keys.space import RELEASE_DEBOUNCE_MS, SCREEN_READER_DEBOUNCE_MS, SpaceKey
from ui.window.reader import ReaderWatch

log = logging.getLogger(__name__)

# Each change of the level bar and its words is four accessibility events. At the bridge's rate
# they flooded a screen reader's queue while the user spoke, and Orca announced the answer
# seconds late; both change at most this often, to the loudest level of the interval.
METER_INTERVAL_MS = 1000
TIMELINE = (("final_transcript", "transcript"), ("first_token", "first word"),
            ("first_audio_played", "first audio"), ("done", "done"))
READY_WORDS = "Glimpse is ready. Hold Space and ask."
READY_TYPING = "Glimpse is ready. Type a question in the question box and press Enter."


class MainWindow(QMainWindow):
    """Threads: GUI thread only."""

    settings_requested = Signal()
    models_requested = Signal()
    banner_wanted = Signal()  # a notice about a missing model arrived: show the banner
    help_requested = Signal()

    def __init__(self, bridge: Bridge, parent: QWidget | None = None, *,
                 screen_reader: bool = False, reader: ReaderWatch | None = None,
                 key_repeat: KeyRepeat | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.screen_reader = screen_reader  # one was running at start (ui.answer_voice "auto")
        self.reader = reader  # what the screen reader listens for (the announcement's channel)
        self.conversation = Conversation()
        self.talking = False
        self._frame_captured: float | None = None
        self._typed = ""  # a typed question waiting for its turn to start
        self._frame_turn = 0
        self._announced_ready = False
        self._retrying = False  # Try again was chosen: say what came of it once set up
        self.devices = DeviceState()
        self.setWindowTitle("Glimpse")
        self.setObjectName("glimpseMainWindow")
        name(self, "Glimpse", "Hold Space or the Talk button, ask about what the camera sees, "
                              "let go to hear the answer. F1 lists all shortcuts.")
        self._build()
        self.problems = ProblemDialogs(self, self.settings_requested.emit,
                                       self.models_requested.emit, self.bridge.retry)
        self._menus()
        self._connect()
        self._frame_timer = QTimer(self)
        self._frame_timer.setInterval(1000)
        self._frame_timer.timeout.connect(self._update_frame_age)
        self._frame_timer.start()
        self.space = SpaceKey(self, self.press, self.release, debounce_ms=SCREEN_READER_DEBOUNCE_MS
                              if screen_reader else RELEASE_DEBOUNCE_MS, repeat=key_repeat)
        self._on_state(bridge.state, "")

    # -- layout ----------------------------------------------------------------------------------

    def _build(self) -> None:
        central = QWidget(self)
        outer = QVBoxLayout(central)

        # Left: the live camera and how old the current question's picture is (the picture
        # itself is in the conversation, once).
        self.preview = CameraView()
        name(self.preview, "Live camera", "The camera picture, updated live. No picture means "
                                          "no camera is configured or it is not delivering.")
        # Values are read-only text, not labels: Orca reads a focused field's text, and a
        # focusable label makes Qt send text events for an object without a text interface.
        self.frozen_caption = OneLine("Frame age", "How old the picture of the question is.")
        self.frozen_caption.setText("No question asked yet.")
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(self.preview, 1)
        lv.addWidget(self.frozen_caption)

        # Right: the conversation and the typed-question box.
        self.view = ConversationView(self.conversation)
        self.question = QuestionBox()
        self.question.setPlaceholderText("Or type a question and press Enter")
        name(self.question, "Question box", "Type a question about the camera picture and "
                                            "press Enter. Ctrl+L comes here.")
        self.ask_button = QPushButton("Ask")
        name(self.ask_button, "Ask typed question", "Send the typed question.")
        qrow = QHBoxLayout()
        qrow.addWidget(self.question, 1)
        qrow.addWidget(self.ask_button)
        self.copy_button = QPushButton("Copy")
        name(self.copy_button, "Copy conversation",
             "Copy the whole conversation as text (Ctrl+Shift+C).")
        self.export_button = QPushButton("Export...")
        name(self.export_button, "Export conversation",
             "Save the conversation as Markdown or JSON (Ctrl+E).")
        qrow.addWidget(self.copy_button)
        qrow.addWidget(self.export_button)
        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        rv.addWidget(self.view, 1)
        rv.addLayout(qrow)

        split = QSplitter(Qt.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        self.banner_slot = QVBoxLayout()  # notices with an action (a missing model) sit here
        self.device_bar = DeviceBar()
        self.banner_slot.addWidget(self.device_bar)
        outer.addLayout(self.banner_slot)
        outer.addWidget(split, 1)

        # Controls: talk, stop, mode, describe now, level.
        self.talk = QPushButton()
        self.talk.setObjectName("pushToTalk")
        self.talk.setMinimumHeight(72)
        self.talk.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        name(self.talk, "Talk", "Hold to speak your question, let go to get the answer. Space "
                                "does the same while the window has focus.")
        self.stop_button = QPushButton("Stop (Esc)")
        self.stop_button.setMinimumHeight(72)
        name(self.stop_button, "Stop", "Cancel the answer and silence speech (Esc).")
        self.mode = QComboBox()
        for value, label in MODES:
            self.mode.addItem(label, value)
        name(self.mode, "Mode", "What a question does: ask about the view (Ctrl+1), describe the "
                                "scene (Ctrl+2) or read text aloud (Ctrl+3).")
        self.describe_button = QPushButton("Describe now")
        name(self.describe_button, "Describe now",
             "Describe the current picture without asking (Ctrl+D).")
        mode_box = QVBoxLayout()
        mode_label = QLabel("&Mode:")
        mode_label.setBuddy(self.mode)
        mode_box.addWidget(mode_label)
        mode_box.addWidget(self.mode)
        mode_box.addWidget(self.describe_button)
        # The bar only shows the level; the words beside it say it once (no number twice).
        self.meter = QProgressBar()
        self.meter.setRange(0, 100)
        self.meter.setValue(0)
        self.meter.setTextVisible(False)
        name(self.meter, "Microphone level", "How loud the microphone hears you, in percent.")
        self.meter_text = OneLine("Microphone", "The microphone level in words.")
        self.meter_text.setText(level_words(0.0, 0.0)[1])
        self._level_pending: tuple[float, float] | None = None
        self._level_timer = QTimer(self)
        self._level_timer.setSingleShot(True)
        self._level_timer.setInterval(METER_INTERVAL_MS)
        self._level_timer.timeout.connect(self._show_pending_level)
        meter_box = QVBoxLayout()
        meter_box.addWidget(self.meter)
        meter_box.addWidget(self.meter_text)
        controls = QHBoxLayout()
        controls.addWidget(self.talk, 3)
        controls.addWidget(self.stop_button, 1)
        controls.addLayout(mode_box, 1)
        controls.addLayout(meter_box, 1)
        outer.addLayout(controls)

        # Status: the state of each stage, the last turn's timeline, the last message.
        # One short, true sentence ("Ready" only when every stage is); each stage in the tooltip.
        self.status = StatusModel()
        self.status_text = OneLine("Status", "What Glimpse is doing.")
        self.timeline = OneLine(
            "Timing", "Milliseconds from letting go of the key to each step of the answer.")
        self.timeline.setText("Last turn: none yet.")
        self.live = ReadableText("Last message",
                                 "The latest answer, notice or error, also announced.", lines=3)
        # Three lines inside the theme's outline (focus: 3-4 px a side).
        self.live.setFixedHeight(QFontMetrics(self.live.font()).lineSpacing() * 3 + 20)
        self.announcer = Announcer(self, self.live, self.reader)
        outer.addWidget(self.live)
        outer.addWidget(self.status_text)
        outer.addWidget(self.timeline)
        self.setCentralWidget(central)
        self.resize(1100, 720)
        self.setMinimumSize(900, 620)
        self._update_talk()

        # Tab order: the main action first, then the rest left to right, top to bottom.
        order = [self.talk, self.stop_button, self.mode, self.describe_button, self.question,
                 self.ask_button, self.copy_button, self.export_button, self.view, self.live,
                 self.frozen_caption, self.meter_text, self.status_text, self.timeline]
        for a, b in zip(order, order[1:]):
            QWidget.setTabOrder(a, b)
        for widget, object_name in zip(order, (
                "talk", "stop", "mode", "describeNow", "question", "ask", "copy", "export",
                "conversation", "lastMessage", "frameAge", "micLevel", "status", "timeline")):
            if widget is not self.talk:  # the Talk button keeps "pushToTalk" (the stylesheet)
                widget.setObjectName(object_name)
        self.focus_order = order
        self.talk.setFocus()

    def _menus(self) -> None:
        build_menus(self)

    def _connect(self) -> None:
        b = self.bridge
        b.state_changed.connect(self._on_state)
        b.transcript.connect(self._on_transcript)
        b.token.connect(self._on_token)
        b.answer.connect(self._on_answer)
        b.frame.connect(self._on_frame)
        b.no_frame.connect(self._on_no_frame)
        b.preview.connect(self._on_preview)
        b.level.connect(self._on_level)
        b.status.connect(self._on_status)
        b.error.connect(self._on_error)
        b.metrics.connect(self._on_metrics)
        b.notice.connect(self._on_notice)
        b.turn_started.connect(self._on_turn_started)
        b.turn_ended.connect(self._on_turn_ended)
        b.turn_dropped.connect(self._on_turn_dropped)
        self.talk.pressed.connect(self._talk_pressed)
        self.talk.released.connect(self._talk_released)
        self.stop_button.clicked.connect(self.stop)
        self.mode.currentIndexChanged.connect(
            lambda i: self.set_mode(self.mode.itemData(i), from_combo=True))
        self.describe_button.clicked.connect(self.describe_now)
        self.question.returnPressed.connect(self.ask_typed)
        self.ask_button.clicked.connect(self.ask_typed)
        self.copy_button.clicked.connect(self.copy_conversation)
        self.export_button.clicked.connect(lambda: self.export_conversation())
        self.device_bar.without_requested.connect(self.go_without)
        self.device_bar.settings_requested.connect(self.settings_requested.emit)
        self.device_bar.retry_requested.connect(self.retry)

    # -- push-to-talk ----------------------------------------------------------------------------

    @property
    def toggle_mode(self) -> bool:
        return self.bridge.config.turns.mode == "toggle"

    def press(self) -> None:
        """The talk key went down (button, Space)."""
        if self.toggle_mode and self.talking:
            self._send_up()
            return
        if self.talking:
            return
        if self.bridge.state != "running":
            self._say_not_ready()
            return
        if self.devices.unusable("microphone"):
            # Nothing to hear: no turn starts (it would only hold an error); typing works.
            self.question.setFocus(Qt.ShortcutFocusReason)
            self.announce("There is no microphone: type your question here and press Enter.")
            return
        self.talking = True
        self.bridge.submit(ev.PushToTalkDown())
        self._update_talk()

    def release(self, command: ev.PushToTalkUp | None = None) -> None:
        """The talk key came up. In toggle mode, the next press ends the question instead."""
        if self.talking and not self.toggle_mode:
            self._send_up(command)

    def _send_up(self, command: ev.PushToTalkUp | None = None) -> None:
        self.talking = False
        self.bridge.submit(command or ev.PushToTalkUp())
        self._update_talk()

    def _talk_pressed(self) -> None:
        self.press()

    def _talk_released(self) -> None:
        self.release()

    def _update_talk(self) -> None:
        if self.talking:
            text = ("Listening... press again to ask" if self.toggle_mode
                    else "Listening... let go to ask")
        elif self.devices.unusable("microphone"):
            text = "No microphone: type below (Ctrl+L)"
        else:
            text = "Talk (press to start)" if self.toggle_mode else "Hold to talk (Space)"
        self.talk.setText(text)
        self.talk.setProperty("talking", "true" if self.talking else "false")
        self.talk.style().unpolish(self.talk)
        self.talk.style().polish(self.talk)

    # -- commands --------------------------------------------------------------------------------

    def stop(self) -> None:
        self.talking = False
        self._update_talk()
        self.bridge.submit(ev.Stop())

    def set_mode(self, value: str, from_combo: bool = False) -> None:
        if not from_combo:
            index = self.mode.findData(value)
            if index >= 0 and index != self.mode.currentIndex():
                self.mode.setCurrentIndex(index)  # comes back here with from_combo=True
                return
        self.bridge.submit(ev.SetMode(mode=ev.Mode(value)))
        self.announce(f"Mode: {dict(MODES)[value]}.")

    def describe_now(self) -> None:
        if self.bridge.state != "running":
            self._say_not_ready()
            return
        self.bridge.submit(ev.Describe(mode=ev.Mode(self.mode.currentData())
                                       if self.mode.currentData() != "ask" else None))

    def ask_typed(self) -> None:
        text = self.question.text().strip()
        if not text:
            self.announce("Type a question first, then press Enter.")
            return
        if self.bridge.state != "running":
            self._say_not_ready()
            return
        self._typed = text  # shown as the question when its turn starts (nothing to hear)
        self.bridge.submit(ev.Ask(text=text))
        self.question.clear()
        # Back to the Talk button: Space asks by voice again, and Ctrl+L comes back here.
        if self.focusWidget() is self.question and not self.devices.unusable("microphone"):
            self.talk.setFocus(Qt.OtherFocusReason)

    @property
    def answer_voice(self) -> str:
        """Who speaks answers: "glimpse", "screen_reader" or "both"."""
        voice = settle_answer_voice(self.bridge.config, self.screen_reader).ui.answer_voice
        return voice if voice in VOICES else "glimpse"

    def announce(self, text: str, assertive: bool = False) -> None:
        """Show `text` as the last message and say it through the screen reader."""
        self.announcer.say(text, assertive)

    def repeat_last(self) -> None:
        text = self.conversation.last_answer()
        self.announce(text or "No answer yet.")

    def copy_conversation(self) -> None:
        QGuiApplication.clipboard().setText(self.conversation.to_markdown())
        self.announce("Conversation copied.")

    def export_conversation(self, path: str | None = None) -> Path | None:
        if not path:
            path, _ = QFileDialog.getSaveFileName(
                self, "Export conversation", str(Path.home() / "glimpse-conversation.md"),
                "Markdown (*.md);;JSON (*.json)")
        if not path:
            return None
        try:
            out = self.conversation.export(path)
        except OSError as exc:
            self._show_problem("export", f"Could not save {path}: {exc.strerror or exc}. Choose "
                                         "another folder.", needs_action=True)
            return None
        self.announce(f"Conversation saved to {out}.")
        return out

    def load_history(self, records) -> None:
        """Show turns saved by an earlier session (assistant.history.TurnRecord), oldest first."""
        if not records:
            return
        for record in records:
            self.conversation.add_record(record)
        self.conversation.general.append(
            f"{labels.plural(len(records), 'turn')} from your previous session. Earlier "
            "sessions: Conversation > Find in history (Ctrl+F). Conversation > Clear history "
            "deletes them all.")
        self.view.refresh()

    def search_history(self) -> None:
        """Open (or bring back) the history search."""
        from ui.window.dialogs.find_history import HistorySearchDialog

        if getattr(self, "history_search", None) is None:
            self.history_search = HistorySearchDialog(self.bridge, self)
        self.history_search.show()
        self.history_search.raise_()
        self.history_search.query.setFocus()

    def clear_history(self, confirm: bool = True) -> None:
        """Delete the saved history (asks first unless `confirm` is False) and the turns shown."""
        if confirm:
            box = QMessageBox(QMessageBox.Question, "Clear history",
                              "Delete every saved turn from this computer, pictures included? "
                              "This cannot be undone.", QMessageBox.Yes | QMessageBox.Cancel,
                              self)
            box.setAccessibleName("Clear history")
            box.finished.connect(lambda r: r == QMessageBox.Yes and self.clear_history(False))
            box.open()
            return
        problem = self.bridge.clear_history()
        if problem:
            self._show_problem("history", problem, needs_action=False)
            return
        self.conversation.turns = [t for t in self.conversation.turns if not t.finished]
        self.conversation.general.clear()
        self.view.refresh()
        self.announce("History cleared.")

    def _say_not_ready(self) -> None:
        if self.bridge.state == "starting":
            self.announce("Glimpse is still starting; it says Ready when it can take a question.")
            return
        why = labels.plain_message(self.bridge.last_error) or "it stopped."
        self.announce(f"Glimpse is not ready: {why} Fix it in Settings or Models, then choose "
                      "Glimpse > Try starting again.", assertive=True)

    # -- pipeline events -------------------------------------------------------------------------

    def _on_state(self, state: str, detail: str) -> None:
        if state == "starting":
            self.devices.rebuilding(set(self.bridge.without))
            self._show_devices()
        self.status.on_pipeline(state, detail if state != "running" else "")
        self._render_status()
        self.talk.setEnabled(True)  # pressing when not ready says why, rather than nothing
        if state == "failed":
            self.announce(f"Glimpse could not start: {labels.plain_message(detail)}",
                          assertive=True)

    def _announce_ready(self) -> None:
        """Once, when the status line first says Ready (every stage has finished its setup)."""
        if self._announced_ready or not self.status.ready():
            return
        self._announced_ready = True
        log.info("window ready: %s", self.status_text.text())
        if self.bridge.config.ui.announce_ready:
            typing = self.devices.unusable("microphone")
            self.announce(READY_TYPING if typing else READY_WORDS)
            if self.answer_voice != "screen_reader" and not self.devices.unusable("speaker"):
                self.bridge.say_ready("Ready.")

    # -- devices and problems --------------------------------------------------------------------

    def go_without(self, group: str) -> None:
        """The user chose to go on without a part (the device bar's Continue without...)."""
        self.bridge.go_without(group)
        device = next((d for d in DEVICES.values() if d.group == group), None)
        if device is not None:
            meanwhile = device.meanwhile[0].lower() + device.meanwhile[1:]
            self.announce(f"Continuing without the {device.key}: {meanwhile}")

    def retry(self) -> None:
        """Try every part again (the device bar's and the problem dialog's Try again); what
        came of it is said when every stage has finished its setup."""
        self.announce("Starting Glimpse again with every device...")
        self._retrying = True
        self.bridge.retry()

    def _show_devices(self) -> None:
        for key in DEVICES:
            self.status.on_device(key, self.devices.words().get(key, ""))
        self.device_bar.show_devices([k for k in DEVICES if k in self.devices.missing])
        if self.devices.unusable("microphone"):
            self._level_pending = None
            self.meter.setValue(0)
            self.meter_text.setText("Mic: none")
        elif self.meter_text.text() == "Mic: none":
            self.meter_text.setText(level_words(0.0, 0.0)[1])
        self._update_talk()
        self._render_status()

    def _device_failed(self, stage: str, message: str) -> None:
        device = self.devices.report(stage, message)
        if device is None:
            return  # known: said once already
        self._show_devices()
        self.announce(announcement(device), assertive=True)

    def _show_problem(self, stage: str, message: str, needs_action: bool,
                      announce: bool = True) -> None:
        if announce:
            where = PROBLEM_WITH.get(stage, "Glimpse")
            self.announce(message if stage == "pipeline" else f"Problem with {where}: {message}",
                          assertive=True)
        if needs_action:
            self.problems.show(message, again=stage == "pipeline"
                               and self.bridge.state == "failed", stage=stage)

    def show_pending_error(self) -> None:
        """A dialog closed: show the problem that arrived while it was open, if still current."""
        # A pipeline that could not start may have started since: only then is it old news.
        self.problems.show_pending(lambda stage: stage != "pipeline"
                                   or self.bridge.state == "failed")

    def _on_turn_started(self, turn_id: int, mode: str) -> None:
        t = self.conversation.turn(turn_id, mode)
        if self._typed and not t.question:
            t.question, self._typed = self._typed, ""
        self.view.follow()  # a new question: the conversation shows it, wherever it was read

    def _on_transcript(self, turn_id: int, text: str, partial: bool) -> None:
        t = self.conversation.turn(turn_id)
        if text or not partial:
            t.question = text
        t.partial = partial
        self.view.refresh()

    def _on_token(self, turn_id: int, text: str) -> None:
        self.conversation.turn(turn_id).answer += text
        self.view.refresh()

    def _on_answer(self, turn_id: int, text: str, source: str) -> None:
        t = self.conversation.turn(turn_id)
        if text:
            t.answer = text
        t.source = source
        # With Glimpse's own voice only, the screen reader would read the answer a second time.
        # Said before the conversation is redrawn: a screen reader takes events in order.
        self.announcer.say(t.answer, to_screen_reader=self.answer_voice != "glimpse")
        self.view.follow()  # the new answer is in view, even when the user had scrolled up
        self.status.on_answer(source)  # "Ready (last answer from the offline path)"
        self._render_status()

    def _on_frame(self, frame: ev.Frame) -> None:
        image = bgr_to_qimage(frame.image)
        t = self.conversation.turn(frame.turn_id)
        t.thumbnail = image.scaledToWidth(THUMB_WIDTH, Qt.SmoothTransformation)
        t.frame_age_s = max(0.0, frame.t - frame.captured_at) if frame.captured_at else None
        self._frame_captured = frame.captured_at or None
        self._frame_turn = frame.turn_id
        self._update_frame_age()
        self.view.refresh()

    def _on_no_frame(self, turn_id: int, reason: str) -> None:
        t = self.conversation.turn(turn_id)
        t.frame_note = f"No picture for this question ({reason or 'no camera'})."
        self.frozen_caption.setText(t.frame_note)
        self.view.refresh()

    def _update_frame_age(self) -> None:
        if self._frame_captured is None:
            return
        age = max(0.0, ev.now() - self._frame_captured)
        # Coarse steps, so the text (and what a screen reader hears) changes rarely.
        when = ("just now" if age < 5 else f"{int(age // 5) * 5} s ago" if age < 60
                else f"{int(age // 60)} min ago")
        text = f"Picture of question {self._frame_turn}, taken {when}."
        if text != self.frozen_caption.text():
            self.frozen_caption.setText(text)

    def _on_preview(self, preview: ev.Preview) -> None:
        self.preview.set_image(bgr_to_qimage(preview.image))

    def _on_level(self, rms: float, peak: float) -> None:
        if self._level_timer.isActive():
            # shown when the interval ends: the loudest of it, so a short word is not missed
            held = self._level_pending or (0.0, 0.0)
            self._level_pending = (max(rms, held[0]), max(peak, held[1]))
            return
        self._show_level(rms, peak)

    def _show_pending_level(self) -> None:
        pending, self._level_pending = self._level_pending, None
        if pending is not None:
            self._show_level(*pending)

    def _show_level(self, rms: float, peak: float) -> None:
        percent, words = level_words(rms, peak)
        self.meter.setValue(percent)
        self.meter_text.setText(words)  # ReadableText skips unchanged words (no events)
        self._level_timer.start()

    def _on_status(self, stage: str, state: str, detail: str) -> None:
        self.status.on_status(stage, state, detail)
        if stage == "pipeline" and state == SET_UP:
            for device in self.devices.set_up():
                self.announce(f"The {device.key} works again.")
            self._show_devices()
            if self._retrying:
                self._retrying = False
                still = [f"the {k}" for k in DEVICES if k in self.devices.missing]
                self.announce("Started again. Still not working: " + ", ".join(still) + "."
                              if still else "Started again: every device works.")
        self._render_status()

    def _render_status(self) -> None:
        self.status_text.setText(self.status.text())
        self.status_text.set_details(self.status.details())
        self._announce_ready()

    def _on_metrics(self, metrics: ev.Metrics) -> None:
        d = metrics.durations_ms()
        bits = [f"{label} {d[key]:.0f} ms" for key, label in TIMELINE if key in d]
        # Timed from letting go of the key; a typed question or Ctrl+D from the request.
        start = "from release" if metrics.release is not None else "from the request"
        text = (f"Last turn ({metrics.turn_id}), {start}: " + ", ".join(bits)) if bits \
            else f"Last turn ({metrics.turn_id}): no timings."
        if metrics.cancelled:
            text += " (stopped)"
        self.timeline.setText(text)
        self.conversation.turn(metrics.turn_id).timeline_ms = d

    def set_global_key_note(self, note: str) -> None:
        self.status.extra["Global key"] = note
        self._render_status()

    def show_banner(self, banner: QWidget) -> None:
        """Show a notice that has an action (ui.window.banner); it removes itself when acted on."""
        self.banner_slot.addWidget(banner)

    def _on_notice(self, message: str, speak: bool) -> None:
        if banner_covers(message):
            self.banner_wanted.emit()  # the banner says it, with a Download button, once
            return
        current = self.conversation.current()
        if current is not None:
            current.notes.append(message)
        else:
            self.conversation.general.append(message)
        self.view.refresh()
        self.announce(message)  # a spoken notice (`speak`) is said by the pipeline itself

    def _on_error(self, stage: str, message: str, needs_action: bool) -> None:
        if stage in DEVICE_OF_STAGE:
            self._device_failed(stage, message)
            return
        plain = labels.plain_message(message)
        current = self.conversation.current()
        known = plain in self.problems.said or plain == self.status.problem
        if current is not None and plain not in current.errors:
            current.errors.append(plain)
        self.status.on_error(stage, plain)
        self._render_status()
        self.view.refresh()
        # A problem outside any turn is said once; a turn's failure is that turn's news. A
        # pipeline that could not start was announced with that state already.
        said = stage == "pipeline" and self.bridge.state == "failed"
        self._show_problem(stage, plain, needs_action,
                           announce=not said and (current is not None or not known))

    def _on_turn_ended(self, turn_id: int, transcript: str, answer: str,
                       cancelled: bool) -> None:
        t = self.conversation.turn(turn_id)
        t.finished = True
        t.cancelled = cancelled
        t.partial = False
        if transcript:
            t.question = transcript
        if answer:
            t.answer = answer
        # The turn is over (answered, capped, failed or stopped): unless the key is still held,
        # the next press starts a new question.
        if self.talking and (self.toggle_mode or not (self.space.down or self.talk.isDown())):
            self.talking = False
        self._update_talk()
        if t.empty():
            # Nothing was heard, seen or said (a device that failed mid-turn, which its state
            # tells): no empty turn stays in the conversation.
            self.conversation.drop(turn_id, finished=True)
        self.view.follow()

    def _on_turn_dropped(self, turn_id: int) -> None:
        """A tap too short to be a question: its turn goes (the notice that said so was
        announced and stays in Last message); the next turn takes its number."""
        self.conversation.drop(turn_id)
        self.view.refresh()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.space.remove()
        super().closeEvent(event)
