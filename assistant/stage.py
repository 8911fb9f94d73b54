"""A stage is a thread with a bounded inbox and an outbox.

- `start()` starts the thread; the thread first calls `setup()` (load models there, never in
  `__init__`), then serves its inbox. `ready` is set once setup finished (or failed).
- `process(item)` is a generator: whatever it yields goes to the outbox.
- Data events of a stale generation are dropped before `process` sees them, and a running
  `process` generator is closed as soon as the generation moves on (checked after every yield).
- An exception in `setup` or `process` becomes an `ErrorEvent` on the outbox; the stage goes on
  serving the next item (a failed setup is retried on the next item).
- `stop()` sets the stop event and puts the end sentinel, then joins.
"""
from __future__ import annotations

import logging
import queue
import threading
from typing import Callable, Iterator

from assistant.errors import describe_exception
from assistant.events import Data, ErrorEvent, Event, InboxItem, StageName

log = logging.getLogger(__name__)


class Generation:
    """The interruption counter shared by all stages.

    `bump()` is called by the pipeline on a new press or Stop; every piece of work tagged with an
    older value is dropped without being looked at. Thread-safe.
    """

    def __init__(self) -> None:
        self._value = 0
        self._lock = threading.Lock()
        self._listeners: list[Callable[[int], None]] = []

    @property
    def value(self) -> int:
        return self._value

    def bump(self) -> int:
        with self._lock:
            self._value += 1
            value = self._value
            listeners = list(self._listeners)
        for listener in listeners:
            listener(value)
        return value

    def is_stale(self, gen: int) -> bool:
        return gen < self._value

    def on_bump(self, listener: Callable[[int], None]) -> None:
        """Call `listener(new_value)` on the bumping thread right after each bump (keep it short)."""
        with self._lock:
            self._listeners.append(listener)


class CancelToken:
    """A view of one generation: `cancelled` turns True once the generation moves past it.

    Engines that run long (VLM decoding, TTS synthesis) check it between steps.
    """

    def __init__(self, generation: Generation, gen: int) -> None:
        self._generation = generation
        self.gen = gen

    @property
    def cancelled(self) -> bool:
        return self._generation.is_stale(self.gen)

    @classmethod
    def never(cls) -> "CancelToken":
        """A token that is never cancelled, for one-shot CLI work."""
        return cls(Generation(), 0)


class Outbox:
    """Where stages put their output: a thread-safe, unbounded queue owned by the pipeline."""

    def __init__(self) -> None:
        self._q: queue.Queue[Event] = queue.Queue()

    def put(self, event: Event) -> None:
        self._q.put_nowait(event)

    def get(self, timeout: float | None = None) -> Event:
        return self._q.get(timeout=timeout)

    def get_nowait(self) -> Event:
        return self._q.get_nowait()

    def empty(self) -> bool:
        return self._q.empty()


class Stage:
    """Base class. Subclasses set `name` and override `setup`, `process`, maybe `poll` and `interrupt`.

    Threads: `submit`, `interrupt` and `stop` may be called from any thread; `setup`, `process`,
    `poll` and `teardown` run on the stage's own thread.
    """

    name: StageName = StageName.PIPELINE
    #: Seconds between `poll()` calls when the inbox is empty; None means never poll.
    poll_interval: float | None = None
    inbox_size: int = 256

    def __init__(self, outbox: Outbox, generation: Generation) -> None:
        self.outbox = outbox
        self.generation = generation
        self.inbox: queue.Queue[InboxItem] = queue.Queue(maxsize=self.inbox_size)
        self.stop_event = threading.Event()
        self.ready = threading.Event()
        self.dropped = 0  # inbox items refused because the inbox was full
        self._thread: threading.Thread | None = None
        self._set_up = False

    # -- lifecycle (any thread) ---------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"glimpse-{self.name.value}", daemon=True)
        self._thread.start()

    def submit(self, item: Event) -> bool:
        """Queue an item for this stage. Never blocks; returns False (and counts) if full."""
        try:
            self.inbox.put_nowait(item)
            return True
        except queue.Full:
            self.dropped += 1
            self.emit_error(f"{self.name.value} is overloaded; an event was dropped. "
                            "If this repeats, choose a smaller model.", recoverable=True)
            return False

    def stop(self, timeout: float = 2.0) -> None:
        self.stop_event.set()
        self.interrupt()
        try:
            self.inbox.put_nowait(None)
        except queue.Full:
            pass  # the stop event alone ends the loop within one get() timeout
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- hooks ----------------------------------------------------------------------------------

    def setup(self) -> None:
        """Load models and open devices. Runs on the stage thread before the first item."""

    def process(self, item: Event) -> Iterator[Event]:
        """Handle one inbox item; yield output events."""
        return iter(())

    def poll(self) -> Iterator[Event]:
        """Called every `poll_interval` seconds while the inbox is empty."""
        return iter(())

    def interrupt(self) -> None:
        """The generation moved on. Called on the interrupting thread: must return at once."""

    def teardown(self) -> None:
        """Release devices and models. Runs on the stage thread after the loop ends."""

    # -- helpers for subclasses -----------------------------------------------------------------

    def emit(self, event: Event) -> None:
        self.outbox.put(event)

    def emit_error(self, message: str, recoverable: bool = True, turn_id: int = 0,
                   needs_action: bool = False) -> None:
        self.outbox.put(ErrorEvent(stage=self.name, message=message, recoverable=recoverable,
                                   turn_id=turn_id, needs_action=needs_action))

    def token(self, item: Event) -> CancelToken:
        return CancelToken(self.generation, getattr(item, "gen", self.generation.value))

    def stale(self, item: Event) -> bool:
        return isinstance(item, Data) and self.generation.is_stale(item.gen)

    # -- the loop (stage thread) ------------------------------------------------------------------

    def _ensure_setup(self, item: Event | None = None) -> bool:
        """Run setup once; on failure report it (tagged with the item's turn, so that turn
        ends with the error instead of waiting) and retry on the next item."""
        if self._set_up:
            return True
        try:
            self.setup()
            self._set_up = True
            return True
        except Exception as exc:  # noqa: BLE001 - becomes an ErrorEvent, never swallowed
            log.debug("setup of %s failed", self.name.value, exc_info=True)
            message, needs_action = describe_exception(exc)
            self.emit_error(message, recoverable=True, needs_action=needs_action,
                            turn_id=getattr(item, "turn_id", 0))
            return False
        finally:
            self.ready.set()

    def _drain(self, items: Iterator[Event], source: Event | None) -> None:
        turn_id = getattr(source, "turn_id", 0)
        try:
            for out in items:
                if source is not None and self.stale(source):
                    break
                self.outbox.put(out)
                if self.stop_event.is_set():
                    break
        except Exception as exc:  # noqa: BLE001 - becomes an ErrorEvent, never swallowed
            log.debug("%s failed", self.name.value, exc_info=True)
            message, needs_action = describe_exception(exc)
            self.emit_error(message, recoverable=True, turn_id=turn_id, needs_action=needs_action)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    def _run(self) -> None:
        self._ensure_setup()
        while not self.stop_event.is_set():
            try:
                item = self.inbox.get(timeout=self.poll_interval if self.poll_interval else 0.1)
            except queue.Empty:
                if self.poll_interval and self._set_up:
                    self._drain(self.poll(), None)
                continue
            if item is None or self.stop_event.is_set():
                break
            if self.stale(item):
                continue
            if not self._ensure_setup(item):
                continue
            self._drain(self.process(item), item)
        try:
            self.teardown()
        except Exception as exc:  # noqa: BLE001
            message, _ = describe_exception(exc)
            self.emit_error(f"{self.name.value} did not close cleanly: {message}", recoverable=False)
