"""History: every finished turn, kept on this computer the moment it ends.

`HistoryStore` is an SQLite file (`history.sqlite3`) in the user data dir (`config.data_dir()`),
in WAL mode, one transaction per turn. Why SQLite and not JSON lines: a turn is one atomic
commit, so a process killed mid-write leaves the whole turn or none of it (the next open rolls
the journal back) and never a torn line; deleting old turns (`history.keep_days`) is a single
statement, with no file to rewrite; and the thumbnails sit in the same file, so `clear` (which
empties the store, then deletes its files) leaves no stray images. `synchronous=NORMAL` in WAL mode survives the app
being killed (SIGTERM, SIGKILL); only a power cut can lose the last turns, never damage older
ones.

A store that cannot be opened (corrupt, not a database, locked by another process) is set
aside as `history.sqlite3.bad-<time>` and a fresh one is started, with a one-line notice.
A turn that cannot be written (read-only folder, full disk) is never refused: the conversation
goes on, a notice says that turn is not in history, and what was saved before stays intact
(the failed transaction is rolled back).

`HistoryRecorder` is a pipeline listener: it gathers a turn's events on the conductor thread
(cheap: references only) and hands the finished turn to its own writer thread, which encodes
the thumbnail and commits. Notices go to `notify(message)`, called on the writer thread.
"""
from __future__ import annotations

import json
import logging
import os
import queue
import sqlite3
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from assistant import events as ev

log = logging.getLogger(__name__)

FILE_NAME = "history.sqlite3"
THUMB_WIDTH = 160  # pixels; a JPEG of about 5-10 kB per turn
THUMB_QUALITY = 80
LOCK_TIMEOUT_S = 2.0  # another process writing: wait this long, then set the store aside
WRITE_QUEUE = 256  # finished turns waiting for the writer thread

SCHEMA = """
CREATE TABLE IF NOT EXISTS turns (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    turn_id INTEGER NOT NULL,
    session TEXT NOT NULL,
    started REAL NOT NULL,
    mode TEXT NOT NULL,
    question TEXT NOT NULL,
    transcript TEXT NOT NULL,
    answer TEXT NOT NULL,
    engine TEXT NOT NULL,
    cancelled INTEGER NOT NULL,
    timings TEXT NOT NULL,
    notes TEXT NOT NULL,
    frame_age_s REAL,
    thumbnail BLOB
);
CREATE INDEX IF NOT EXISTS turns_turn_id ON turns (turn_id);
CREATE INDEX IF NOT EXISTS turns_started ON turns (started);
"""


class HistoryError(Exception):
    """The store could not be read or written; `str()` says what and why."""


@dataclass(frozen=True)
class TurnRecord:
    """One finished turn. `started` is wall-clock seconds (time.time()); `timings_ms` are
    milliseconds from release (see `events.Metrics.durations_ms`); `thumbnail` is JPEG bytes."""

    turn_id: int
    started: float
    mode: str = "ask"
    question: str = ""
    transcript: str = ""
    answer: str = ""
    engine: str = ""
    cancelled: bool = False
    timings_ms: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    frame_age_s: float | None = None
    thumbnail: bytes | None = None
    session: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, without the image bytes."""
        d = asdict(self)
        d.pop("thumbnail")
        d["notes"] = list(self.notes)
        d["started_iso"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(self.started))
        d["has_thumbnail"] = self.thumbnail is not None
        return d


def store_path(data_dir: Path) -> Path:
    return Path(data_dir) / FILE_NAME


class HistoryStore:
    """The history file. Threads: one connection per store, guarded by a lock, so the writer
    thread and the GUI thread (load, clear) may both use it."""

    def __init__(self, path: Path, notify: Callable[[str], None] | None = None) -> None:
        self.path = Path(path)
        self.notify = notify or (lambda message: log.warning("%s", message))
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self.read_only = False  # readable, but nothing can be written (read-only folder)
        self._cleared = False  # `clear` removed the files: the next use starts a fresh one
        self._open()

    # -- opening ------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=LOCK_TIMEOUT_S, check_same_thread=False,
                             isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            check = db.execute("PRAGMA quick_check").fetchone()
            if not check or check[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {check[0] if check else '?'}")
            db.executescript(SCHEMA)
        except BaseException:
            db.close()
            raise
        return db

    def _open(self) -> None:
        try:
            self._db = self._connect()
            return
        except sqlite3.DatabaseError as exc:  # corrupt, not a database, locked, or no access
            problem = str(exc)
            if _no_access(exc):
                self._open_read_only(problem)
                return
        aside = self.set_aside()
        try:
            self._db = self._connect()
        except (sqlite3.Error, OSError) as exc:
            self._db = None
            self.notify(f"History cannot be kept ({exc}); your turns still work but are not "
                        "saved this session.")
            return
        where = f"moved to {aside}" if aside else "left as it was"
        self.notify(f"The history file could not be used ({problem}); it was {where} and a "
                    "new one was started.")

    def _open_read_only(self, problem: str) -> None:
        """The folder cannot be written (read-only, no permission): keep what is there readable
        and touch nothing, so the earlier turns are shown and none is damaged."""
        try:
            db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro&immutable=1", uri=True,
                                 check_same_thread=False, isolation_level=None)
            db.execute("SELECT COUNT(*) FROM turns").fetchone()
            self._db, self.read_only = db, True
        except (sqlite3.Error, OSError):
            self._db = None
        shown = "earlier turns are shown, but " if self._db is not None else ""
        reason = _why_text(problem)
        if not os.access(self.path.parent, os.W_OK):
            reason = f"the data folder {self.path.parent} is read-only"
        self.notify(f"History cannot be kept ({reason}); {shown}your turns still "
                    "work and are not saved this session.")

    def set_aside(self) -> Path | None:
        """Move the store (and its journal files) to `<name>.bad-<time>`; returns the new path."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.bad-{stamp}")
        moved = None
        for suffix in ("", "-wal", "-shm"):
            src = Path(f"{self.path}{suffix}")
            if src.exists():
                try:
                    os.replace(src, f"{aside}{suffix}")
                    moved = moved or aside
                except OSError as exc:
                    log.warning("could not move %s aside: %s", src, exc)
        return moved

    @property
    def available(self) -> bool:
        return self._db is not None or self._cleared

    def close(self) -> None:
        with self._lock:
            self._cleared = False  # a closed store is not brought back by a late use
            if self._db is not None:
                self._db.close()
                self._db = None

    # -- writing ------------------------------------------------------------------------------

    def append(self, record: TurnRecord) -> None:
        """Add one turn in one transaction. Raises HistoryError; the store is unchanged then.

        A store another program keeps locked past LOCK_TIMEOUT_S is set aside (its turns stay
        in the file set aside) and the turn goes to a fresh one, with a notice."""
        with self._lock:
            try:
                self._insert(self._need(), record)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc):
                    raise HistoryError(_why(exc)) from exc
            assert self._db is not None
            self._db.close()
            aside = self.set_aside()
            try:
                self._db = self._connect()
                self._insert(self._db, record)
            except (sqlite3.Error, OSError) as exc:
                raise HistoryError(_why(exc)) from exc
            self.notify(f"The history file was locked by another program; it was set aside "
                        f"as {aside} and a new one was started.")

    @staticmethod
    def _insert(db: sqlite3.Connection, record: TurnRecord) -> None:
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                "INSERT INTO turns (turn_id, session, started, mode, question, transcript, "
                "answer, engine, cancelled, timings, notes, frame_age_s, thumbnail) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (record.turn_id, record.session, record.started, record.mode,
                 record.question, record.transcript, record.answer, record.engine,
                 int(record.cancelled), json.dumps(record.timings_ms),
                 json.dumps(list(record.notes)), record.frame_age_s, record.thumbnail))
            db.execute("COMMIT")
        except sqlite3.OperationalError:
            _rollback(db)
            raise
        except (sqlite3.Error, OSError) as exc:
            _rollback(db)
            raise HistoryError(_why(exc)) from exc

    def prune(self, keep_days: float, now: float | None = None) -> int:
        """Delete turns older than `keep_days`; returns how many."""
        cutoff = (time.time() if now is None else now) - keep_days * 86400
        with self._lock:
            db = self._need()
            try:
                return db.execute("DELETE FROM turns WHERE started < ?", (cutoff,)).rowcount
            except sqlite3.Error as exc:
                raise HistoryError(_why(exc)) from exc

    def clear(self) -> None:
        """Delete every turn and the store's files (database, journal, thumbnails inside it),
        and any store set aside earlier. The store stays usable: the next turn written starts
        a fresh file.

        The turns are deleted inside the database first, so nothing is left even when the files
        cannot go: another program (a second Glimpse) that has the store open keeps its files
        until it closes it (SQLite removes its journal when the last connection closes, which
        is how an open one is seen), and then the emptied file stays."""
        with self._lock:
            db = self._need()
            if self.read_only:
                raise HistoryError(f"the data folder {self.path.parent} is read-only")
            try:
                db.execute("DELETE FROM turns")
                db.execute("DELETE FROM sqlite_sequence WHERE name = 'turns'")
                db.execute("VACUUM")
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:
                raise HistoryError(_why(exc)) from exc
            db.close()
            self._db, self._cleared = None, True
            if not Path(f"{self.path}-wal").exists():  # else still open elsewhere: files stay
                try:
                    for suffix in ("", "-wal", "-shm"):
                        Path(f"{self.path}{suffix}").unlink(missing_ok=True)
                except OSError as exc:
                    raise HistoryError(_why(exc)) from exc
        for old in self.path.parent.glob(f"{self.path.name}.bad-*"):
            old.unlink(missing_ok=True)

    # -- reading ------------------------------------------------------------------------------

    def turns(self, limit: int | None = None) -> list[TurnRecord]:
        """Kept turns, oldest first (the newest `limit` when given)."""
        sql = "SELECT * FROM turns ORDER BY seq DESC" + (" LIMIT ?" if limit else "")
        rows = self._query(sql, (limit,) if limit else ())
        return [_record(r) for r in reversed(rows)]

    def previous_session(self, exclude: str = "") -> list[TurnRecord]:
        """The turns of the newest session other than `exclude`, oldest first."""
        row = self._query("SELECT session FROM turns WHERE session != ? ORDER BY seq DESC "
                          "LIMIT 1", (exclude,))
        if not row:
            return []
        rows = self._query("SELECT * FROM turns WHERE session = ? ORDER BY seq",
                           (row[0]["session"],))
        return [_record(r) for r in rows]

    def get(self, turn_id: int) -> TurnRecord | None:
        rows = self._query("SELECT * FROM turns WHERE turn_id = ? ORDER BY seq DESC LIMIT 1",
                           (turn_id,))
        return _record(rows[0]) if rows else None

    def last_turn_id(self) -> int:
        rows = self._query("SELECT MAX(turn_id) AS last FROM turns", ())
        return int(rows[0]["last"] or 0) if rows else 0

    def _query(self, sql: str, params: Iterable[Any]) -> list[dict[str, Any]]:
        with self._lock:
            if self._db is None and self._cleared:
                return []  # cleared: nothing to read, and reading creates no file
            db = self._need()
            try:
                cursor = db.execute(sql, tuple(params))
                names = [d[0] for d in cursor.description]
                return [dict(zip(names, row)) for row in cursor.fetchall()]
            except sqlite3.Error as exc:
                raise HistoryError(_why(exc)) from exc

    def _need(self) -> sqlite3.Connection:
        """The connection; after `clear` a fresh file is started here, on first use."""
        if self._db is None and self._cleared:
            try:
                self._db = self._connect()
            except (sqlite3.Error, OSError) as exc:
                raise HistoryError(_why(exc)) from exc
            self._cleared = False
        if self._db is None:
            raise HistoryError("the history file could not be opened this session")
        return self._db


def _rollback(db: sqlite3.Connection) -> None:
    try:
        db.execute("ROLLBACK")
    except sqlite3.Error:
        pass  # no transaction left to roll back: SQLite already did it


def _no_access(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and (
        "unable to open" in text or "readonly" in text or "read-only" in text)


def _why(exc: BaseException) -> str:
    return _why_text(str(exc) or type(exc).__name__)


def _why_text(text: str) -> str:
    if "disk" in text.lower() and "full" in text.lower():
        return "the disk is full"
    if "readonly" in text.lower() or "read-only" in text.lower():
        return "the data folder is read-only"
    return text


def _record(row: Any) -> TurnRecord:
    if not isinstance(row, dict):
        row = dict(row)
    return TurnRecord(
        turn_id=row["turn_id"], started=row["started"], mode=row["mode"],
        question=row["question"], transcript=row["transcript"], answer=row["answer"],
        engine=row["engine"], cancelled=bool(row["cancelled"]),
        timings_ms=json.loads(row["timings"] or "{}"),
        notes=tuple(json.loads(row["notes"] or "[]")),
        frame_age_s=row["frame_age_s"], thumbnail=row["thumbnail"], session=row["session"])


def thumbnail_jpeg(image: Any, width: int = THUMB_WIDTH) -> bytes | None:
    """A small JPEG of a BGR uint8 frame (None when there is no usable image)."""
    import cv2
    import numpy as np

    array = np.asarray(image)
    if array.ndim < 2 or array.shape[0] < 2 or array.shape[1] < 2:
        return None
    h, w = array.shape[:2]
    if w > width:
        array = cv2.resize(array, (width, max(1, round(h * width / w))),
                           interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", array, [cv2.IMWRITE_JPEG_QUALITY, THUMB_QUALITY])
    return bytes(data) if ok else None


@dataclass
class _Pending:
    turn_id: int
    mode: str
    started: float
    frame: Any = None
    frame_age_s: float | None = None
    engine: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class HistoryRecorder:
    """Turns pipeline events into saved turns.

    Threads: `on_event` runs on the conductor thread (a pipeline listener) and only gathers
    references; the writer thread encodes and commits. `close()` waits for queued turns.
    """

    def __init__(self, store: HistoryStore, notify: Callable[[str], None],
                 session: str | None = None) -> None:
        self.store = store
        self.notify = notify
        # Unique even for two sessions of one process within a second.
        self.session = session or f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:12]}"
        self.saved = 0
        self.failed = 0
        self._pending: dict[int, _Pending] = {}
        self._queue: queue.Queue[tuple[_Pending, ev.TurnEnded] | None] = queue.Queue(WRITE_QUEUE)
        self._thread = threading.Thread(target=self._write_loop, name="glimpse-history",
                                        daemon=True)
        self._thread.start()

    def on_event(self, event: ev.Event) -> None:
        if isinstance(event, ev.TurnStarted):
            self._pending[event.turn_id] = _Pending(event.turn_id, event.mode.value, time.time())
            return
        turn_id = getattr(event, "turn_id", 0)
        pending = self._pending.get(turn_id)
        if pending is None:
            return
        if isinstance(event, ev.Frame):
            pending.frame, pending.frame_age_s = event.image, max(0.0, event.t - event.captured_at)
        elif isinstance(event, ev.Answer):
            pending.engine = event.source
        elif isinstance(event, ev.Metrics):
            pending.timings_ms = {k: round(v, 1) for k, v in event.durations_ms().items()}
        elif isinstance(event, (ev.Notice, ev.ErrorEvent)):
            kind = "Error" if isinstance(event, ev.ErrorEvent) else "Note"
            pending.notes.append(f"{kind}: {event.message}")
        elif isinstance(event, ev.TurnEnded):
            del self._pending[turn_id]
            if event.dropped:  # a too-short tap: nothing was asked, nothing to keep
                return
            try:
                self._queue.put_nowait((pending, event))
            except queue.Full:
                self.failed += 1
                self.notify(f"Turn {turn_id} was not saved in history (the history writer is "
                            "behind); the conversation goes on.")

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued, then stop the writer thread (within `timeout`)."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until every queued turn is written or failed (tests, benchmarks)."""
        done = self._queue.all_tasks_done  # the queue's own condition, notified by task_done()
        with done:
            return done.wait_for(lambda: not self._queue.unfinished_tasks, timeout)

    def _write_loop(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._write(*item)
            finally:
                self._queue.task_done()

    def _write(self, pending: _Pending, ended: ev.TurnEnded) -> None:
        try:
            thumb = thumbnail_jpeg(pending.frame) if pending.frame is not None else None
        except Exception as exc:  # noqa: BLE001 - a thumbnail is not worth losing the turn
            log.warning("turn %s: no thumbnail (%s)", ended.turn_id, exc)
            thumb = None
        record = TurnRecord(
            turn_id=ended.turn_id, started=pending.started, mode=pending.mode,
            question=ended.transcript, transcript=ended.transcript, answer=ended.answer,
            engine=pending.engine, cancelled=ended.cancelled, timings_ms=pending.timings_ms,
            notes=tuple(pending.notes), frame_age_s=pending.frame_age_s, thumbnail=thumb,
            session=self.session)
        try:
            self.store.append(record)
            self.saved += 1
        except HistoryError as exc:
            self.failed += 1
            self.notify(f"Turn {ended.turn_id} could not be saved in history ({exc}); the "
                        "conversation goes on and earlier turns are kept.")


def open_store(data_dir: Path, enabled: bool, keep_days: float,
               notify: Callable[[str], None]) -> HistoryStore | None:
    """The store for this run, old turns pruned; None when history is off (nothing on disk)."""
    if not enabled:
        return None
    store = HistoryStore(store_path(data_dir), notify)
    if store.available and not store.read_only:
        try:
            store.prune(keep_days)
        except HistoryError as exc:
            notify(f"Old history could not be deleted ({exc}).")
    return store
