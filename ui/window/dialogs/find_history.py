"""Conversation > Find in history (Ctrl+F): find an earlier turn by what was seen or said.

Type "cup" and press Enter: the saved turns are ranked by their pictures (the finder's analyser
over the history's thumbnails, indexed once in the user cache dir) and by their words
(`vision.search.history_index`). Each result is a row with the turn's picture as its icon and its
turn number, time, question and why it matched; choosing one shows the whole turn below, where
a screen reader reads it. The count of results is announced.

The search runs through `bridge.run_task` on the bridge's pool (the dialog never starts a
thread); indexing progress shows in the status line of the dialog. GUI thread only.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.window.a11y import announce, name

TASK = "history-search"
ICON = QSize(96, 72)


def _when(started: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(started))


class HistorySearchDialog(QDialog):
    """`bridge` runs the search (and has the config and the history folder)."""

    def __init__(self, bridge: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.hits: list[Any] = []
        self.setWindowTitle("Search history")
        name(self, "Search history", "Find an earlier turn by what was seen or said")
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        label = QLabel("&Find:")
        self.query = QLineEdit()
        self.query.setPlaceholderText("what was seen or said, e.g. cup, exit sign")
        name(self.query, "Find in history", "What the turn's picture showed, or a word said")
        label.setBuddy(self.query)
        self.go = QPushButton("&Search")
        name(self.go, "Search", "Search the saved turns")
        row.addWidget(label)
        row.addWidget(self.query, 1)
        row.addWidget(self.go)
        layout.addLayout(row)
        self.results = QListWidget()
        self.results.setIconSize(ICON)
        name(self.results, "Results", "Matching turns, best first; Enter shows the whole turn")
        layout.addWidget(self.results, 1)
        self.detail = QPlainTextEdit()
        self.detail.setReadOnly(True)
        self.detail.setMaximumHeight(110)
        self.detail.setObjectName("chosenTurn")  # outlined in high contrast (ui.window.theme)
        name(self.detail, "Chosen turn", "The whole turn chosen in the results")
        layout.addWidget(self.detail)
        self.status = QLabel("Type what to find and press Enter.")
        self.status.setWordWrap(True)
        name(self.status, "Search status")
        layout.addWidget(self.status)
        self.resize(560, 480)

        self.query.returnPressed.connect(self.search)
        self.go.clicked.connect(self.search)
        self.results.currentRowChanged.connect(self._show)
        self.results.itemActivated.connect(lambda _item: self.detail.setFocus())
        bridge.task_progress.connect(self._on_progress)
        bridge.task_finished.connect(self._on_finished)

    # -- searching -----------------------------------------------------------------------------

    def search(self) -> None:
        query = self.query.text().strip()
        if not query:
            announce(self.status, "Type what to find first.")
            return
        self.bridge.cancel_task(TASK)
        config, history_file = self.bridge.config, self._history_file()

        def body(on_progress, cancel):
            from vision.search.history_index import search_saved
            from vision.search.photos import cache_dir

            return search_saved(config, history_file, cache_dir(config), query,
                                on_progress=on_progress, should_stop=cancel.is_set)

        self.go.setEnabled(False)
        announce(self.status, f"Searching for {query}...")
        self._query = query
        self.bridge.run_task(TASK, body)

    def _history_file(self) -> Path:
        from assistant.history import store_path

        folder = self.bridge.history_dir
        return store_path(Path(folder)) if folder is not None else Path("/nonexistent")

    def _on_progress(self, task_id: str, done: int, total: int) -> None:
        if task_id == TASK and total > 0:
            self.status.setText(f"Looking at the saved pictures: {done} of {total}...")

    def _on_finished(self, task_id: str, result: object, error: str) -> None:
        if task_id != TASK:
            return
        self.go.setEnabled(True)
        if error == "cancelled":
            return
        if error:
            announce(self.status, f"The search failed: {error}", assertive=True)
            return
        self.show_hits(list(result or []))

    def show_hits(self, hits: list[Any]) -> None:
        self.hits = hits
        self.results.clear()
        self.detail.clear()
        for hit in hits:
            record = hit.record
            asked = record.question or record.transcript or f"({record.mode})"
            item = QListWidgetItem(f"Turn {record.turn_id}, {_when(record.started)}: {asked}\n"
                                   f"{hit.reason}")
            item.setData(Qt.AccessibleTextRole,
                         f"Turn {record.turn_id}: {asked}. Matched because {hit.reason}.")
            if record.thumbnail:
                image = QImage.fromData(record.thumbnail, "JPEG")
                if not image.isNull():
                    item.setIcon(QIcon(QPixmap.fromImage(image)))
            self.results.addItem(item)
        query = getattr(self, "_query", "")
        if hits:
            count = "One turn matches" if len(hits) == 1 else f"{len(hits)} turns match"
            announce(self.status, f"{count} {query}; the best is turn {hits[0].record.turn_id}.")
            self.results.setCurrentRow(0)
        else:
            announce(self.status, f"No saved turn matches {query}.")

    def _show(self, row: int) -> None:
        if not 0 <= row < len(self.hits):
            self.detail.clear()
            return
        record = self.hits[row].record
        lines = [f"Turn {record.turn_id}, {_when(record.started)}"]
        if record.question or record.transcript:
            lines.append(f"You: {record.question or record.transcript}")
        lines.append(f"Glimpse: {record.answer}")
        self.detail.setPlainText("\n".join(lines))

    def done(self, result: int) -> None:
        self.bridge.cancel_task(TASK)
        super().done(result)
