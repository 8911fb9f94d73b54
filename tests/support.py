"""Helpers shared by tests: waiting on pipeline events with timeouts (never fixed sleeps)."""
from __future__ import annotations

import queue
import time
from typing import Callable

from assistant import events as ev
from assistant.pipeline import Pipeline


class EventLog:
    """Drains a pipeline's output queue; `wait_for` blocks until a matching event or timeout."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.events: list[ev.Event] = []

    def wait_for(self, predicate: Callable[[ev.Event], bool], timeout: float = 10.0) -> ev.Event:
        for seen in self.events:
            if predicate(seen):
                return seen
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                kinds = [type(e).__name__ for e in self.events[-30:]]
                raise AssertionError(f"timed out; last events: {kinds}")
            try:
                event = self.pipeline.events.get(timeout=left)
            except queue.Empty:
                continue
            self.events.append(event)
            if predicate(event):
                return event

    def wait_type(self, kind: type, timeout: float = 10.0, **fields) -> ev.Event:
        return self.wait_for(lambda e: isinstance(e, kind)
                             and all(getattr(e, k) == v for k, v in fields.items()), timeout)

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]

    def drain(self) -> None:
        while True:
            try:
                self.events.append(self.pipeline.events.get_nowait())
            except queue.Empty:
                return
