"""Helpers shared by tests: waiting on pipeline events with timeouts (never fixed sleeps)."""
from __future__ import annotations

import queue
import time
from typing import Callable

from assistant import events as ev
from assistant.pipeline import Pipeline


class EventLog:
    """Everything a pipeline publishes, in the conductor's order: what the shell gets on
    `events` and the speech chunks and playback marks that only listeners see.
    `wait_for` blocks until a matching event or the timeout."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self._q: queue.Queue[ev.Event] = queue.Queue()
        pipeline.add_listener(self._q.put)
        # Published before the listener was added: still waiting on `events`. Those published
        # since are on both; identity tells them apart (the log keeps them alive).
        self.events: list[ev.Event] = []
        while True:
            try:
                self.events.append(pipeline.events.get_nowait())
            except queue.Empty:
                break
        self._early = {id(e) for e in self.events}

    def _next(self, timeout: float) -> ev.Event | None:
        try:
            event = self._q.get(timeout=timeout)
        except queue.Empty:
            return None
        if id(event) in self._early:
            return None
        self.events.append(event)
        return event

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
            event = self._next(left)
            if event is not None and predicate(event):
                return event

    def wait_type(self, kind: type, timeout: float = 10.0, **fields) -> ev.Event:
        return self.wait_for(lambda e: isinstance(e, kind)
                             and all(getattr(e, k) == v for k, v in fields.items()), timeout)

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]

    def drain(self) -> None:
        while not self._q.empty():
            self._next(0)
