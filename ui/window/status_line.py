"""The status line: one short, true sentence about Glimpse, with the details in a tooltip.

The pipeline reports a state per stage (`Status(stage, state, detail)`: asr loading, answer
ready, ...) and the bridge reports the pipeline as a whole (starting, running, failed) and,
behind every stage's setup, `Status(pipeline, SET_UP)`. The line says "Ready" only when the
pipeline runs, every stage has finished its setup and every stage that reported is ready; while
stages load it says which ("Starting: speech, answers loading (1 of 3 ready)"); during a turn
it says what happens now (listening, thinking, speaking), and between turns "Watching for keys"
while watch mode looks. A device that does not work (or that the user chose to go without) is a
state, not a problem: "Ready. No speaker: answers are shown as text." Each stage's own state is
in the tooltip and in the accessible description, one line each, in words (model names, never
references).

After an answer that came from the offline path (the describer: local detectors, no
vision-language model; `Answer.source`), "Ready" says so until an answer comes from a model
or the pipeline starts again: "Ready (last answer from the offline path)".

`StatusModel` holds the states and makes the words (plain Python, tested without a window);
the window shows `text()` in a `OneLine` field (fixed height, never wrapped: a long text is
shortened with "..." and the whole text stays in the tooltip and the accessible description, so
the controls below never jump and screen readers read it). GUI thread only.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QPlainTextEdit, QWidget

from ui import labels
from ui.window.announce import ReadableText

#: the words, from the plain-words table
STAGES, PROBLEM_WITH, ENGINES = labels.STAGE_WORDS, labels.PROBLEM_WITH, labels.ENGINES
_SHORT = {"speech recognition": "speech"}
_READY = {"ready", "idle", "running", "off"}
#: what the pipeline does during a turn -> words
ACTIVITY = {"listening": "Listening", "transcribing": "Understanding your question",
            "thinking": "Thinking", "speaking": "Speaking"}
RUNNING = {"starting": "starting", "running": "running", "failed": "not running",
           "stopped": "stopped"}
PIPELINE = {"starting": "Starting", "running": "Ready", "failed": "Not ready",
            "stopped": "Stopped"}
#: the bridge's mark behind every stage's setup (ui.window.bridge puts it on the pipeline's bus)
SET_UP = "set-up"
#: `Answer.source` of the engines that answer without a vision-language model.
OFFLINE_SOURCES = frozenset({"describer"})
OFFLINE_NOTE = "from the offline path, without the vision model"


class StatusModel:
    """The states behind the status line."""

    def __init__(self) -> None:
        self.pipeline = "starting"
        self.pipeline_detail = ""
        self.set_up = False  # every stage of this pipeline finished its setup
        self.stages: dict[str, tuple[str, str]] = {}  # stage -> (state, detail)
        self.activity = ""  # listening / thinking / ... during a turn; "" between turns
        self.watching = ""  # what watch mode looks for ("keys"); "" when it does not watch
        self.problem = ""
        self.problem_stage = ""
        self.devices: dict[str, str] = {}  # "speaker" -> "no speaker: answers are shown as text"
        self.offline = False  # the last answer came from the offline path
        self.extra: dict[str, str] = {}  # e.g. {"Global key": "on (Ctrl+Alt+Space)"}

    def on_pipeline(self, state: str, detail: str = "") -> None:
        if state == "starting":  # a new pipeline: the old stages' states no longer apply
            self.stages.clear()
            self.activity = ""
            self.problem = self.problem_stage = ""
            self.watching = ""
            self.set_up = False
            self.offline = False
        self.pipeline, self.pipeline_detail = state, detail

    def on_answer(self, source: str) -> None:
        """An answer came (`Answer.source`); watch mode's own replies leave the note as it is."""
        if source != "watch":
            self.offline = source in OFFLINE_SOURCES

    def on_status(self, stage: str, state: str, detail: str = "") -> None:
        if state == "mode":
            return
        if stage == "pipeline":
            if state == SET_UP:
                self.set_up = True
                return
            self.activity = ACTIVITY.get(state, "")
            return
        if stage == "watch":  # not a part that loads at start: what it does now
            self.watching = detail if state == "watching" else ""
            self.stages.pop(stage, None)  # a watch that starts again clears its last error
            return
        self.stages[stage] = (state, detail)
        if state != "error" and not any(s == "error" for s, _ in self.stages.values()):
            self.problem = self.problem_stage = ""

    def on_error(self, stage: str, message: str) -> None:
        """A problem in plain words (not a device: see `on_device`)."""
        self.stages[stage] = ("error", message)
        self.problem, self.problem_stage = message, stage

    def on_device(self, device: str, words: str) -> None:
        """A device that does not work, or that the user chose to go without ("" clears it)."""
        if words:
            self.devices[device] = words
        else:
            self.devices.pop(device, None)

    def ready(self) -> bool:
        return (self.pipeline == "running" and self.set_up and not self.problem
                and all(s in _READY for s, _ in self.stages.values()))

    def _base(self) -> str:
        if self.problem:
            where = PROBLEM_WITH.get(self.problem_stage, STAGES.get(self.problem_stage, "Glimpse"))
            return f"Problem with {where}: {self.problem}"
        if self.pipeline in ("failed", "stopped"):
            return PIPELINE[self.pipeline] + (f": {self.pipeline_detail}"
                                              if self.pipeline_detail else "")
        loading = [_SHORT.get(STAGES.get(k, k), STAGES.get(k, k))
                   for k, (s, _) in self.stages.items() if s not in _READY]
        if loading or self.pipeline != "running" or not self.set_up:
            ready = sum(1 for s, _ in self.stages.values() if s in _READY)
            words = f"Starting: {', '.join(loading)} loading" if loading else "Starting"
            return words + (f" ({ready} of {len(self.stages)} ready)" if self.stages else "")
        if self.activity:
            return self.activity
        if self.watching:
            return f"Watching for {self.watching}"
        return "Ready (last answer from the offline path)" if self.offline else "Ready"

    def text(self) -> str:
        base = self._base()
        if not self.devices or self.pipeline in ("failed", "stopped"):
            return base
        states = "; ".join(self.devices.values())
        return f"{base.rstrip('.')}. {states[0].upper()}{states[1:]}."

    def details(self) -> str:
        """One line per stage, for the tooltip and screen readers."""
        lines = [f"Glimpse: {RUNNING.get(self.pipeline, self.pipeline)}"]
        for stage, (state, detail) in self.stages.items():
            what = STAGES.get(stage, stage).capitalize()
            shown = engine_words(detail) if detail and state != "error" else detail
            lines.append(f"{what}: {state}" + (f" ({shown})" if shown else ""))
        for device, words in self.devices.items():
            lines.append(f"{device.capitalize()}: {words}")
        if self.watching:
            lines.append(f"Watch mode: watching for {self.watching} (Escape or \"stop\" ends it)")
        if self.offline:
            lines.append(f"Last answer: {OFFLINE_NOTE} (it can tell text, faces, people close "
                         "by, colours and light)")
        lines += [f"{k}: {v}" for k, v in self.extra.items()]
        return "\n".join(lines)


def engine_words(detail: str) -> str:
    """"piper:en_US-joe-medium" -> "Joe (US English, natural voice)", "fast" -> "Whisper"."""
    if detail in ENGINES:
        return ENGINES[detail]
    if detail.startswith("vlm:"):
        return f"vision model {detail.removeprefix('vlm:')}"
    return labels.model_name(detail, size=False)


class OneLine(ReadableText):
    """A read-only field of one line: never wraps, never scrolls; a text too long for it is
    shortened with "..." on screen, and the whole text is its tooltip's first line and its
    accessible description. `text()` is the whole text."""

    def __init__(self, accessible_name: str, description: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(accessible_name, description, lines=1, parent=parent)
        self.setLineWrapMode(QPlainTextEdit.NoWrap)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        # Room for the theme's outline (focus: 3-4 px a side) around one line of text.
        self.setFixedHeight(QFontMetrics(self.font()).lineSpacing() + 20)
        self._full = ""
        self._about = description
        self._tip = ""

    def text(self) -> str:
        return self._full

    def setText(self, text: str) -> None:  # noqa: N802 - the QLabel spelling
        """Show `text` (shortened to the field's width); unchanged text sends no events."""
        if text == self._full and self.toPlainText():
            return
        self._full = text
        self._show()

    def set_details(self, details: str) -> None:
        """More lines for the tooltip, below the whole text."""
        self._tip = details
        self._show()

    def _show(self) -> None:
        room = max(40, self.viewport().width() - 2 * int(self.document().documentMargin()) - 4)
        shown = QFontMetrics(self.font()).elidedText(self._full, Qt.ElideRight, room)
        if self.toPlainText() != shown:
            self.setPlainText(shown)
        tip = "\n".join(t for t in (self._full if shown != self._full else "", self._tip) if t)
        self.setToolTip(tip or self._about)
        self.setAccessibleDescription(self._full if shown != self._full else self._about)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        if self._full:
            self._show()
