"""The command line's turns in history, like the window's.

`glimpse ask`, `describe` and `find` keep each question and what Glimpse said in the same store
as the window (`assistant.history`, in the user data folder), under the same switch
(`history.enabled`), with the picture's thumbnail: `glimpse history list` shows them, and the
window shows them as the previous session. `--no-history` (before or after the command) leaves
one run out. Turn numbers continue after the store's last one. A store that cannot be written is
said once on stderr and the command still answers: history never costs the user an answer.
"""
from __future__ import annotations

import time
from typing import Any, Iterable

from assistant.config import Config, data_dir
from assistant.history import (
    HistoryError,
    HistoryRecorder,
    HistoryStore,
    TurnRecord,
    open_store,
    thumbnail_jpeg,
)
from ui.cli.common import info


def open_history(config: Config) -> HistoryStore | None:
    """The store for this run's turns; None when history is off or cannot be written."""
    store = open_store(data_dir(), config.history.enabled, config.history.keep_days, info)
    if store is None:
        return None
    if not store.available or store.read_only:
        store.close()
        return None  # the store said why, on stderr
    return store


def next_turn(store: HistoryStore) -> int:
    try:
        return store.last_turn_id() + 1
    except HistoryError as exc:
        info(f"history could not be read ({exc}); this turn is numbered 1")
        return 1


def session_name(command: str) -> str:
    return f"{time.strftime('%Y%m%dT%H%M%S')}-{command}"


def keep_turn(config: Config, command: str, *, mode: str, question: str, answer: str,
              engine: str = "", image: Any = None, notes: Iterable[str] = (),
              timings_ms: dict[str, float] | None = None) -> int | None:
    """Save one finished turn (`image`: the BGR picture it was about). Returns its number, or
    None when nothing was kept (history off, --no-history, the store not writable)."""
    store = open_history(config)
    if store is None:
        return None
    try:
        turn_id = next_turn(store)
        thumb = thumbnail_jpeg(image) if image is not None else None
        store.append(TurnRecord(turn_id=turn_id, started=time.time(), mode=mode,
                                question=question, transcript=question, answer=answer,
                                engine=engine, notes=tuple(notes),
                                timings_ms=dict(timings_ms or {}), thumbnail=thumb,
                                session=session_name(command)))
    except HistoryError as exc:
        info(f"this answer could not be kept in history ({exc})")
        return None
    finally:
        store.close()
    return turn_id


class PipelineHistory:
    """History for a command that runs the pipeline (`glimpse ask`): the same recorder as the
    window's, listening to the pipeline. Call `attach(pipeline)` before it starts and `close()`
    after it stopped (it writes what is queued)."""

    def __init__(self, config: Config, command: str) -> None:
        self.store = open_history(config)
        self.recorder = HistoryRecorder(self.store, info, session=session_name(command)) \
            if self.store is not None else None

    def attach(self, pipeline: Any) -> None:
        if self.recorder is None or self.store is None:
            return
        pipeline.continue_turns(next_turn(self.store))
        pipeline.add_listener(self.recorder.on_event)

    def close(self) -> int:
        """Write the queued turns and close the store; returns how many were kept."""
        if self.recorder is None or self.store is None:
            return 0
        self.recorder.close()
        self.store.close()
        return self.recorder.saved
