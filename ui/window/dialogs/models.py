"""The models dialog: what is installed, downloads with progress, verify, import a folder.

The model store (`assistant.models.store.ModelStore`) is imported lazily: when it is not available
the dialog says so and still offers downloads through an injected `downloader`. Every slow job
(download, verify, import) runs through `bridge.run_task` on the bridge's own thread pool;
progress comes back as Qt signals. The dialog never starts a thread.

A download reports only what happened: with Offline mode on nothing is fetched and the dialog
says so ("Offline mode is on: nothing was downloaded. Turn it off in Settings > Privacy"); a
store that cannot get the model asked for fails (it never hands back another model in its place),
and "Download complete" comes only once the model asked for is on this computer.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import re
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from assistant.config import Config
from ui import labels
from ui.window.a11y import announce, name
from ui.window.bridge import Bridge

log = logging.getLogger(__name__)

#: downloader(name, on_progress(done, total), cancel) -> whatever the store returns (a path)
Downloader = Callable[[str, Callable[[int, int], None], threading.Event], Any]

SUGGESTED = ("whisper:tiny.en", "whisper:base.en", "whisper:small",
             "hf:HuggingFaceTB/SmolVLM2-500M-Video-Instruct", "piper:en_US-joe-medium")
OFFLINE = "Offline mode is on: nothing was downloaded. Turn it off in Settings > Privacy."


class Cancelled(Exception):
    """The user cancelled a download; the partial file stays for a resume."""


def http_download(url: str, dest: Path, on_progress: Callable[[int, int], None],
                  cancel: threading.Event, chunk: int = 64 * 1024, timeout: float = 30.0) -> Path:
    """Download `url` to `dest`, resuming from `dest.part` with an HTTP Range request.

    Thread: any (runs on a bridge worker). Raises Cancelled when `cancel` is set (the partial
    file is kept), and OSError/URLError on network problems.
    """
    dest = Path(dest)
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        if have and response.status != 206:  # the server ignores ranges: start over
            have = 0
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None else -1
        done = have
        on_progress(done, total)
        with open(part, "ab" if have else "wb") as out:
            while True:
                if cancel.is_set():
                    raise Cancelled(f"Download of {url} cancelled")
                data = response.read(chunk)
                if not data:
                    break
                out.write(data)
                done += len(data)
                on_progress(done, total)
    os.replace(part, dest)
    return dest


def url_downloader(folder: Path) -> Downloader:
    """A downloader for plain URLs into `folder` (used when no model store is available)."""

    def download(url: str, on_progress, cancel) -> Path:
        target = Path(folder) / (url.rstrip("/").rsplit("/", 1)[-1] or "download")
        return http_download(url, target, on_progress, cancel)

    return download


class StoreBackend:
    """The model store, seen through the few calls this dialog needs."""

    def __init__(self, config: Config) -> None:
        from ui.bootstrap import model_store

        self.store = model_store(config)

    def installed(self) -> list[dict[str, Any]]:
        return [_row(item) for item in self.store.installed()]

    def missing(self) -> list[str]:
        """References the settings use that are not on this computer."""
        fn = getattr(self.store, "missing", None)
        return [ref for _key, ref, _then in fn()] if fn else []

    def download(self, model: str, on_progress, cancel) -> Any:
        """Fetch `model` (whisper:/piper:/hf: reference) into the cache; returns its path.
        Raises when that model is not on this computer afterwards: the store's stand-in (the
        offline pack's Whisper for another one) is not what the user asked for."""
        fetch = getattr(self.store, "download", None)
        if fetch is not None:
            got = fetch(model, on_progress, cancel=cancel)
        else:
            got = self.store.get(model, on_progress, cancel=cancel, fallback=False)
        locate = getattr(self.store, "locate", None)
        if locate is not None and ":" in model and locate(model) is None:
            raise RuntimeError(f"{labels.short_model_name(model)} is still not on this "
                               "computer after the download")
        return got

    def verify(self, model: str) -> str:
        checks = self._call("verify", model) or []
        bad = [c for c in checks if not getattr(c, "ok", False)]
        shown = labels.short_model_name(model)
        if not checks:
            return f"nothing to check for {shown}"
        if not bad:
            return f"{len(checks)} file(s) of {shown} are intact"
        return "; ".join(getattr(c, "message", str(c)) for c in bad)

    def import_folder(self, path: str) -> str:
        method = "import_dir" if hasattr(self.store, "import_dir") else "import_folder"
        added = self._call(method, Path(path)) or []
        names = ", ".join(labels.short_model_name(_row(i)["name"]) for i in added)
        return f"imported {names or 'nothing'}"

    def _call(self, method: str, *args: Any) -> Any:
        fn = getattr(self.store, method, None)
        if fn is None:
            raise RuntimeError(f"This version of the model store cannot {method.replace('_', ' ')}"
                               "; use `glimpse models` on the command line")
        return fn(*args)


def _row(item: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(item):
        item = dataclasses.asdict(item)
    if isinstance(item, dict):
        data = item
    elif isinstance(item, str):
        data = {"name": item}
    else:
        data = {k: getattr(item, k) for k in ("name", "ref", "kind", "size", "path", "source")
                if hasattr(item, k)}
    size = data.get("size") or data.get("bytes")
    return {"name": str(data.get("name") or data.get("ref") or data.get("id") or "?"),
            "kind": str(data.get("kind", "")),
            "bytes": size if isinstance(size, (int, float)) else 0,
            "source": str(data.get("source", "")),
            "path": str(data.get("path", "") or "")}


def merge_rows(rows: list[dict[str, Any]], missing: list[str]) -> list[dict[str, Any]]:
    """One row per model: copies of a model (offline pack, cache, converted) are folded into
    one row that lists every source and path; configured models that are not on this computer
    come last, marked missing."""
    merged: dict[str, dict[str, Any]] = {}
    for row in rows:
        have = merged.get(row["name"])
        if have is None:
            merged[row["name"]] = dict(row, sources=[row["source"]], paths=[row["path"]],
                                       missing=False)
            continue
        if row["source"] not in have["sources"]:
            have["sources"].append(row["source"])
        if row["path"] and row["path"] not in have["paths"]:
            have["paths"].append(row["path"])
        have["bytes"] = max(have["bytes"], row["bytes"])
    for ref in missing:
        if ref not in merged:
            kind = {"whisper": "asr", "piper": "tts", "hf": "vlm"}.get(ref.split(":")[0], "")
            merged[ref] = {"name": ref, "kind": kind, "bytes": labels.download_mb(ref) * 10**6,
                           "sources": [], "paths": [], "missing": True}
    return sorted(merged.values(), key=lambda r: (r["missing"], r["kind"], r["name"]))


def source_text(row: dict[str, Any]) -> str:
    if row["missing"]:
        return "Not on this computer"
    names: list[str] = []
    for source in row["sources"]:
        word = labels.source_name(source)
        if word and word not in names:
            names.append(word)
    return ", ".join(names)


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def progress_text(done: int, total: int, eta_s: float | None) -> str:
    if total <= 0:
        return f"{_human(done)} downloaded (size unknown)"
    text = f"{_human(done)} of {_human(total)}"
    if eta_s is not None and done < total:
        m, s = divmod(int(eta_s + 0.5), 60)
        text += f", about {m}:{s:02d} left"
    return text


class ModelsDialog(QDialog):
    """Threads: GUI thread only; jobs run through `bridge.run_task`."""

    def __init__(self, bridge: Bridge, config: Config, *, backend: Any = None,
                 downloader: Downloader | None = None, parent: QWidget | None = None,
                 focus: str = "", opener: Callable[[QUrl], Any] | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.config = config
        self.note = ""
        if backend is None:
            try:
                backend = StoreBackend(config)
            except ImportError as exc:
                self.note = (f"The model store is not available in this build ({exc}). "
                             "Downloads by URL still work; `glimpse models` may say more.")
        self.backend = backend
        self.downloader = downloader or (backend.download if backend is not None else None)
        self._task: str | None = None
        self._asked = ""  # the model the running download was asked for
        self._started = 0.0
        self._start_done = 0
        self._task_seq = 0
        self.last_result: Any = None
        self.last_error = ""
        self.rows: list[dict[str, Any]] = []
        self.opener = opener or QDesktopServices.openUrl
        self.setWindowTitle("Glimpse models")
        name(self, "Glimpse models", "Installed models, downloads, verification and import.")
        self._build()
        bridge.task_progress.connect(self._on_progress)
        bridge.task_finished.connect(self._on_finished)
        self.refresh()
        if focus:
            self.select(focus)

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        privacy = QLabel("Privacy: Glimpse runs on this computer. Nothing leaves it unless you "
                         "set a remote backend in Settings. Downloads fetch model files only.")
        privacy.setWordWrap(True)
        layout.addWidget(privacy)
        self.note_label = QLabel(self.note)
        self.note_label.setWordWrap(True)
        self.note_label.setVisible(bool(self.note))
        name(self.note_label, "Note")
        layout.addWidget(self.note_label)
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["Model", "Kind", "Size", "Source", ""])
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.Stretch)
        # The rows' Download buttons are cell widgets, which ResizeToContents does not measure:
        # the column and the rows take the button's own size, so it keeps its label.
        header.setSectionResizeMode(4, QHeaderView.Fixed)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectRows)
        name(self.table, "Models", "One row per model: installed ones first, then the ones "
                                   "the settings use that still need a download. Arrow keys "
                                   "move; hover a row for where its files are.")
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.model = QComboBox()
        self.model.setEditable(True)
        for ref in SUGGESTED:
            self.model.addItem(labels.model_name(ref), ref)
        label = QLabel("&Model:")
        label.setBuddy(self.model)
        name(self.model, "Model to download", "Pick a model, or paste the address of a model "
                                              "file.")
        self.download_button = QPushButton("&Download")
        name(self.download_button, "Download", "Download the model; a cancelled download "
                                               "resumes where it stopped.")
        self.cancel_button = QPushButton("&Cancel download")
        self.cancel_button.setEnabled(False)
        name(self.cancel_button, "Cancel download", "Stop the download; it can resume later.")
        row.addWidget(label)
        row.addWidget(self.model, 1)
        row.addWidget(self.download_button)
        row.addWidget(self.cancel_button)
        layout.addLayout(row)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("No download running")
        name(self.progress, "Download progress")
        layout.addWidget(self.progress)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        name(self.message, "Models message")
        layout.addWidget(self.message)
        row2 = QHBoxLayout()
        self.verify_button = QPushButton("&Verify selected")
        name(self.verify_button, "Verify selected model", "Check the files of the selected "
                                                          "model against their checksums.")
        self.import_button = QPushButton("&Import from folder...")
        name(self.import_button, "Import from folder", "Add a model you copied from another "
                                                       "computer or a USB stick.")
        self.folder_button = QPushButton("Show &folder")
        name(self.folder_button, "Show folder", "Open the folder that holds the selected "
                                                "model's files.")
        self.folder_button.clicked.connect(lambda: self.show_folder())
        row2.addWidget(self.folder_button)
        self.close_button = QPushButton("Close")
        name(self.close_button, "Close models")
        for b in (self.verify_button, self.import_button):
            b.setEnabled(self.backend is not None)
            row2.addWidget(b)
        row2.addStretch(1)
        row2.addWidget(self.close_button)
        layout.addLayout(row2)
        self.download_button.clicked.connect(lambda: self.download())
        self.cancel_button.clicked.connect(self.cancel)
        self.verify_button.clicked.connect(self.verify)
        self.import_button.clicked.connect(lambda: self.import_folder())
        self.close_button.clicked.connect(self.accept)
        self.download_button.setEnabled(self.downloader is not None)
        self.resize(820, 480)

    def refresh(self) -> None:
        rows: list[dict[str, Any]] = []
        missing: list[str] = []
        if self.backend is not None:
            try:
                rows = self.backend.installed()
                missing = list(getattr(self.backend, "missing", lambda: [])())
            except Exception as exc:  # noqa: BLE001 - shown in the dialog
                self._say(f"Could not list the models: {exc}. Check the models folder "
                          "in Settings.")
        self.rows = merge_rows(rows, missing)
        self.table.clearContents()
        self.table.setRowCount(len(self.rows))
        for r, row in enumerate(self.rows):
            # Decimal units, as the names' download sizes ("Whisper Tiny (..., 72 MB, ...)").
            size = labels.size_text(row["bytes"] / 10**6) if row["bytes"] else ""
            if row["missing"] and size:
                size = f"about {size}"
            # The name without its download size: the Size column says how big it is here.
            texts = (labels.model_name(row["name"], size=False), labels.kind_name(row["kind"]),
                     size, source_text(row))
            tip = "\n".join(row["paths"]) or "Not downloaded yet"
            for c, text in enumerate(texts):
                item = QTableWidgetItem(text)
                item.setToolTip(tip)
                item.setData(Qt.UserRole, row["name"])
                self.table.setItem(r, c, item)
            if row["missing"]:
                button = QPushButton("Download")
                name(button, f"Download {labels.short_model_name(row['name'])}")
                button.clicked.connect(lambda _=False, ref=row["name"]: self.download(ref))
                button.setEnabled(self.downloader is not None and self._task is None)
                self.table.setCellWidget(r, 4, button)
                hint = button.sizeHint()
                self.table.setColumnWidth(4, max(self.table.columnWidth(4), hint.width() + 8))
                self.table.setRowHeight(r, max(self.table.rowHeight(r), hint.height() + 4))
        if not self.rows:
            self.table.setRowCount(1)
            self.table.setItem(0, 0, QTableWidgetItem("No models installed yet" if
                                                      self.backend else "Unknown"))
        self.folder_button.setEnabled(any(r["paths"] for r in self.rows))

    def _row_buttons(self, enabled: bool) -> None:
        for r in range(self.table.rowCount()):
            button = self.table.cellWidget(r, 4)
            if button is not None:
                button.setEnabled(enabled)

    def selected_ref(self) -> str:
        item = self.table.item(max(0, self.table.currentRow()), 0)
        return str(item.data(Qt.UserRole) or "") if item is not None else ""

    def select(self, ref: str) -> None:
        """Select a model's row and put it in the download box (the missing-model banner's
        Download opens the dialog this way)."""
        for r, row in enumerate(self.rows):
            if row["name"] == ref:
                self.table.setCurrentCell(r, 0)
        index = self.model.findData(ref)
        if index < 0:
            self.model.addItem(labels.model_name(ref), ref)
            index = self.model.count() - 1
        self.model.setCurrentIndex(index)
        self.download_button.setFocus()

    def show_folder(self) -> str:
        """Open the folder of the selected model in the file manager; returns its path."""
        ref = self.selected_ref()
        row = next((r for r in self.rows if r["name"] == ref and r["paths"]), None)
        if row is None:
            return ""
        path = Path(row["paths"][0])
        folder = path if path.is_dir() else path.parent
        self.opener(QUrl.fromLocalFile(str(folder)))
        return str(folder)

    # -- jobs ------------------------------------------------------------------------------------

    def _start(self, kind: str, body) -> str:
        self._task_seq += 1
        task = f"models-{kind}-{self._task_seq}"
        self._task = task
        self._started = time.monotonic()
        self._start_done = -1
        for b in (self.download_button, self.verify_button, self.import_button):
            b.setEnabled(False)
        self._row_buttons(False)
        self.cancel_button.setEnabled(kind == "download")
        self.bridge.run_task(task, body)
        return task

    def download(self, model: str | None = None) -> str | None:
        if model is None:
            index = self.model.currentIndex()
            text = self.model.currentText()
            model = self.model.itemData(index) if index >= 0 and \
                text == self.model.itemText(index) else text
        model = str(model or "").strip()
        if not model:
            self._say("Type a model name or URL first.")
            return None
        if self.downloader is None:
            self._say("Downloads are not available in this build.")
            return None
        if self.config.models.offline:
            self.progress.setValue(0)
            self.progress.setFormat("Nothing downloaded")
            self._say(OFFLINE, assertive=True)
            return None
        downloader = self.downloader
        self._asked = model
        self.progress.setFormat("Starting download...")
        self._say(f"Downloading {labels.short_model_name(model)}.")
        return self._start("download", lambda on_progress, cancel:
                           downloader(model, on_progress, cancel))

    def cancel(self) -> None:
        if self._task is not None:
            self.bridge.cancel_task(self._task)

    def verify(self) -> None:
        model = self.selected_ref()
        if self.backend is None or not model:
            return
        self._say(f"Verifying {labels.short_model_name(model)}...")
        self._start("verify", lambda _p, _c: self.backend.verify(model))

    def import_folder(self, path: str | None = None) -> None:
        if self.backend is None:
            return
        path = path or QFileDialog.getExistingDirectory(self, "Import a model folder")
        if not path:
            return
        self._say(f"Importing {path}...")
        self._start("import", lambda _p, _c: self.backend.import_folder(path))

    def _on_progress(self, task: str, done: int, total: int) -> None:
        if task != self._task:
            return
        if self._start_done < 0:  # the first report: where a resumed download starts
            self._start_done = done
            self._started = time.monotonic()
        elapsed = time.monotonic() - self._started
        rate = (done - self._start_done) / elapsed if elapsed > 0.2 else 0.0
        eta = (total - done) / rate if rate > 0 and total > 0 else None
        if total > 0:
            self.progress.setValue(int(1000 * min(done, total) / total))
        self.progress.setFormat(progress_text(done, total, eta))
        self.progress.setAccessibleDescription(self.progress.format())

    def _on_finished(self, task: str, result: object, error: str) -> None:
        if task != self._task:
            return
        self._task = None
        self.last_result, self.last_error = result, error
        self.cancel_button.setEnabled(False)
        self.download_button.setEnabled(self.downloader is not None)
        for b in (self.verify_button, self.import_button):
            b.setEnabled(self.backend is not None)
        self._row_buttons(self.downloader is not None)
        kind = task.split("-")[1]
        if error == "cancelled":
            self.progress.setFormat("Cancelled: Download again to resume")
            self._say("Download cancelled. Press Download again to resume where it stopped.")
        elif error:
            self.progress.setValue(0)
            self.progress.setFormat(f"{kind.capitalize()} failed: nothing was downloaded"
                                    if kind == "download" else f"{kind.capitalize()} failed")
            self._say(f"{kind.capitalize()} failed: {failure_words(error, self.config)}",
                      assertive=True)
        else:
            if kind == "download":
                self.progress.setValue(1000)
                self.progress.setFormat("Download complete")
                self._say(f"Downloaded {labels.short_model_name(self._asked)}: it is on this "
                          "computer now.")
            else:
                self._say(f"{kind.capitalize()} finished" + (f": {result}" if result else "."))
            self.refresh()

    def _say(self, text: str, assertive: bool = False) -> None:
        announce(self.message, text, assertive)


def failure_words(error: str, config: Config) -> str:
    """A failed job's message, pointing at the setting rather than at the command line."""
    # The command-line advice ("run `glimpse models pull X` while online") becomes the
    # window's own: the Download button and the Offline setting, said below.
    text = re.sub(r"[.;,]?\s*(?:[Rr]un |[Uu]se )?`?glimpse models pull [^`\s]+`?"
                  r"(?: while online)?", "", error)
    text = re.sub(r"\b((?:whisper|hf|piper):[^\s`'\",;]+?)([.:]?)(?=[\s`'\",;]|$)",
                  lambda m: labels.short_model_name(m.group(1)) + m.group(2), text)
    text = text.strip().rstrip(".")
    low = error.lower()
    if config.models.offline:
        return (f"{text}. Glimpse is set to work offline: turn off Settings > Privacy > "
                "\"Offline: never use the network\", then press Download again.")
    if any(w in low for w in ("network", "urlopen", "connection", "resolve", "offline",
                              "timed out", "unreachable")):
        return (f"{text}. Check the internet connection and press Download again; it resumes "
                "where it stopped. To stay offline, choose Settings > Privacy > \"Offline\" "
                "and keep using the offline describer.")
    return text
