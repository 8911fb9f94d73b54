"""The conversation: what was asked, what was answered, with each turn's frame.

`Conversation` is plain data (no widgets) so export and tests need no window. `ConversationView`
shows it in read-only text (a QTextEdit: Qt exposes a QTextBrowser as a label, which
Orca does not read), re-rendered at most every 60 ms however fast tokens stream
in (a long answer must never stall the event loop). Finished turns stay when a later turn fails.
It follows the conversation: a new question or a new answer is scrolled into view even when the
user had scrolled up to read; between those, a user reading earlier turns keeps the place.
"""
from __future__ import annotations

import html
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QImage, QTextDocument
from PySide6.QtWidgets import QTextEdit, QWidget

from ui.window.status_line import OFFLINE_NOTE, OFFLINE_SOURCES

MODE_NAMES = {"ask": "Ask", "describe": "Describe scene", "read": "Read text"}
THUMB_WIDTH = 160


def bgr_to_qimage(image: np.ndarray) -> QImage:
    """A QImage that owns a copy of a BGR uint8 array (safe after the array is gone)."""
    array = np.ascontiguousarray(image)
    if array.ndim == 2:
        h, w = array.shape
        return QImage(array.data, w, h, array.strides[0], QImage.Format_Grayscale8).copy()
    h, w = array.shape[:2]
    return QImage(array.data, w, h, array.strides[0], QImage.Format_BGR888).copy()


@dataclass
class Turn:
    id: int
    mode: str = "ask"
    started: float = field(default_factory=time.time)  # wall clock, for the export
    question: str = ""
    partial: bool = False
    answer: str = ""
    source: str = ""
    thumbnail: QImage | None = None
    frame_age_s: float | None = None
    frame_note: str = ""
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    finished: bool = False
    cancelled: bool = False
    timeline_ms: dict[str, float] = field(default_factory=dict)

    def empty(self) -> bool:
        """Nothing was asked, answered, seen or said in this turn."""
        return not (self.question or self.answer or self.notes or self.errors
                    or self.thumbnail is not None or self.frame_note)

    def as_dict(self) -> dict[str, Any]:
        return {
            "turn": self.id, "mode": self.mode,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(self.started)),
            "question": self.question, "answer": self.answer, "source": self.source,
            "frame_age_s": None if self.frame_age_s is None else round(self.frame_age_s, 3),
            "notes": list(self.notes), "errors": list(self.errors),
            "cancelled": self.cancelled, "finished": self.finished,
            "timeline_ms": {k: round(v, 1) for k, v in self.timeline_ms.items()},
        }


class Conversation:
    """All turns of this session, in order. Methods are called on the GUI thread."""

    def __init__(self) -> None:
        self.turns: list[Turn] = []
        self.general: list[str] = []  # messages that belong to no turn

    def turn(self, turn_id: int, mode: str | None = None) -> Turn:
        for t in reversed(self.turns):
            if t.id == turn_id:
                return t
        t = Turn(id=turn_id, mode=mode or "ask")
        self.turns.append(t)
        return t

    def add_record(self, record: Any) -> Turn:
        """Add a finished turn saved in history (an `assistant.history.TurnRecord`)."""
        thumb = None
        if record.thumbnail:
            image = QImage.fromData(record.thumbnail)
            thumb = None if image.isNull() else image
        # History keeps a turn's notices and errors in one list, each marked with its kind.
        notes = [n.removeprefix("Note: ") for n in record.notes if not n.startswith("Error: ")]
        errors = [n.removeprefix("Error: ") for n in record.notes if n.startswith("Error: ")]
        t = Turn(id=record.turn_id, mode=record.mode, started=record.started,
                 question=record.question, answer=record.answer, source=record.engine,
                 thumbnail=thumb, frame_age_s=record.frame_age_s, finished=True,
                 cancelled=record.cancelled, timeline_ms=dict(record.timings_ms),
                 notes=notes, errors=errors)
        self.turns.append(t)
        return t

    def drop(self, turn_id: int, finished: bool = False) -> None:
        """Forget a turn that never became a question (a too-short tap; `finished`: one that
        ended with nothing in it)."""
        self.turns = [t for t in self.turns if t.id != turn_id or (t.finished and not finished)]

    def current(self) -> Turn | None:
        return self.turns[-1] if self.turns and not self.turns[-1].finished else None

    def last_answer(self) -> str:
        for t in reversed(self.turns):
            if t.answer:
                return t.answer
        return ""

    # -- export ----------------------------------------------------------------------------------

    def to_json(self) -> str:
        return json.dumps({"glimpse_conversation": 1, "turns": [t.as_dict() for t in self.turns]},
                          indent=2, ensure_ascii=False)

    def to_markdown(self, image_dir: str | None = None) -> str:
        """Markdown; with `image_dir` (relative to the file), each turn links its frame there."""
        lines = ["# Glimpse conversation", ""]
        for t in self.turns:
            d = t.as_dict()
            lines.append(f"## Turn {t.id} ({MODE_NAMES.get(t.mode, t.mode)}, {d['started']})")
            lines.append("")
            if image_dir and t.thumbnail is not None:
                lines += [f"![Frame of turn {t.id}]({image_dir}/turn-{t.id}.png)", ""]
            if t.question:
                lines += [f"**You:** {t.question}", ""]
            if t.answer:
                lines += [f"**Glimpse:** {t.answer}", ""]
            for note in t.notes:
                lines += [f"> Note: {note}", ""]
            for err in t.errors:
                lines += [f"> Error: {err}", ""]
            if t.cancelled:
                lines += ["*(stopped)*", ""]
        return "\n".join(lines).rstrip() + "\n"

    def export(self, path: str | Path) -> Path:
        """Write `.json` or `.md` (chosen by suffix); Markdown frames go to `<name>_frames/`."""
        path = Path(path)
        if path.suffix.lower() == ".json":
            path.write_text(self.to_json(), encoding="utf-8")
            return path
        images = path.with_name(path.stem + "_frames")
        with_images = [t for t in self.turns if t.thumbnail is not None]
        if with_images:
            images.mkdir(exist_ok=True)
            for t in with_images:
                t.thumbnail.save(str(images / f"turn-{t.id}.png"))  # type: ignore[union-attr]
        path.write_text(self.to_markdown(images.name if with_images else None), encoding="utf-8")
        return path


class ConversationView(QTextEdit):
    """Read-only, keyboard-navigable view of the conversation (caret browsing for screen readers)."""

    RENDER_INTERVAL_MS = 60

    def __init__(self, conversation: Conversation, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.conversation = conversation
        self.setReadOnly(True)
        self.setTextInteractionFlags(Qt.TextSelectableByKeyboard | Qt.TextSelectableByMouse)
        self.setTabChangesFocus(True)
        self.setAccessibleName("Conversation")
        self.setAccessibleDescription("Your questions and Glimpse's answers, newest at the "
                                      "bottom. Use the arrow keys to read; Ctrl+Shift+C copies "
                                      "it all.")
        self._dirty = False
        self._follow = False  # the next render scrolls to the newest turn
        self._render_ms = 0.0  # how long the last render took
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.render_now)
        self.render_now()

    def refresh(self) -> None:
        """Ask for a re-render soon (coalesced). A long conversation takes longer to render, so
        the wait grows with the last render's cost: rendering never takes more than about a
        fifth of the GUI thread, and key presses are still handled at once."""
        if not self._timer.isActive():
            self._timer.start(max(self.RENDER_INTERVAL_MS, int(4 * self._render_ms)))

    def follow(self) -> None:
        """Re-render soon and show the newest turn (a new question or answer)."""
        self._follow = True
        self.refresh()

    def render_now(self) -> None:
        started = time.perf_counter()
        try:
            self._render()
        finally:
            self._render_ms = (time.perf_counter() - started) * 1000

    def _render(self) -> None:
        doc: QTextDocument = self.document()
        parts = []
        if not self.conversation.turns and not self.conversation.general:
            parts.append("<p><i>No questions yet. Hold the Talk button (or Space) and ask about "
                         "what the camera sees; let go to hear the answer.</i></p>")
        for msg in self.conversation.general[-5:]:
            parts.append(f"<p><b>Notice:</b> {html.escape(msg)}</p>")
        for t in self.conversation.turns:
            parts.append(self._turn_html(t, doc))
        bar = self.verticalScrollBar()
        follow, self._follow = self._follow or bar.value() >= bar.maximum() - 4, False
        place = bar.value()
        self.setHtml("".join(parts))  # (resets the scroll bar to the top)
        bar.setValue(bar.maximum() if follow else place)

    def _turn_html(self, t: Turn, doc: QTextDocument) -> str:
        mode = MODE_NAMES.get(t.mode, t.mode)
        out = [f"<h3>Turn {t.id} &middot; {html.escape(mode)}</h3><table><tr>"]
        if t.thumbnail is not None:
            name = f"thumb://turn/{t.id}"
            doc.addResource(QTextDocument.ImageResource, QUrl(name), t.thumbnail)
            age = "" if t.frame_age_s is None else f"{t.frame_age_s:.1f} s old when chosen"
            # The alternative text is what Glimpse said about the picture, once it has.
            alt = f"Picture of turn {t.id}" + (f": {t.answer}" if t.finished and t.answer else "")
            out.append(f'<td valign="top"><img src="{name}" width="{THUMB_WIDTH}" '
                       f'alt="{html.escape(alt, quote=True)}"><br><small>{age}</small></td>')
        out.append('<td valign="top" style="padding-left:8px">')
        if t.question:
            label = "You (still listening)" if t.partial else "You"
            out.append(f"<p><b>{label}:</b> {html.escape(t.question)}</p>")
        elif t.mode != "ask":
            out.append(f"<p><b>You:</b> <i>({html.escape(mode.lower())})</i></p>")
        elif not t.finished:
            out.append("<p><b>You:</b> <i>listening...</i></p>")
        if t.answer:
            label = "Glimpse" if t.finished else "Glimpse (answering)"
            if t.source in OFFLINE_SOURCES:  # no vision model answered: say so
                label += f" ({OFFLINE_NOTE})"
            out.append(f"<p><b>{label}:</b> {html.escape(t.answer)}</p>")
        if t.frame_note:
            out.append(f"<p><small>{html.escape(t.frame_note)}</small></p>")
        for note in t.notes:
            out.append(f"<p><b>Note:</b> {html.escape(note)}</p>")
        for err in t.errors:
            out.append(f"<p><b>Error:</b> {html.escape(err)}</p>")
        if t.cancelled:
            out.append("<p><i>Stopped.</i></p>")
        out.append("</td></tr></table>")
        return "".join(out)
