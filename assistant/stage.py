"""A stage is a thread with a bounded inbox and an outbox.

- `start()` starts the thread; the thread first calls `setup()` (load models there, never in
  `__init__`), then serves its inbox. `ready` is set once setup finished (or failed).
- `process(item)` is a generator: whatever it yields goes to the outbox.
- Data events of a stale generation are dropped before `process` sees them, and a running
  `process` generator is closed as soon as the generation moves on (checked after every yield).
- An exception in `setup` or `process` becomes an `ErrorEvent` on the outbox; the stage goes on
  serving the next item (a failed setup is retried on the next item).
- `stop()` sets the stop event and puts the end sentinel, then joins.

Two lanes: every queue here (the pipeline's bus and each stage's inbox) is a `Lanes`. Urgent
events (`events.Urgent`: commands such as Stop or a new press, status, errors) go in an
unbounded lane that is always served first and never drops; data events wait in a FIFO lane
behind them, bounded in a stage inbox (a full inbox refuses data, counted and reported). So a
Stop overtakes any number of queued tokens, and the end sentinel overtakes queued work.
"""
from __future__ import annotations

import logging
import os
import queue
import sys
import threading
from collections import deque
from typing import Callable, Generic, Iterator, TypeVar

from assistant.errors import describe_exception
from assistant.events import Data, ErrorEvent, Event, InboxItem, StageName, Urgent

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


T = TypeVar("T")


class Lanes(Generic[T]):
    """A queue with two FIFO lanes: urgent items (`Urgent` events and the `None` end sentinel)
    are always taken before data. The urgent lane is unbounded; the data lane holds at most
    `max_data` items (0: unbounded). Thread-safe; `put` never blocks."""

    def __init__(self, max_data: int = 0) -> None:
        self.max_data = max_data
        self._urgent: deque[T] = deque()
        self._data: deque[T] = deque()
        self._ready = threading.Condition()

    def put(self, item: T) -> bool:
        """Queue `item`; False (nothing queued) only when it is data and the data lane is full."""
        with self._ready:
            if item is None or isinstance(item, Urgent):
                self._urgent.append(item)
            elif self.max_data and len(self._data) >= self.max_data:
                return False
            else:
                self._data.append(item)
            self._ready.notify()
            return True

    def get(self, timeout: float | None = None) -> T:
        """The oldest urgent item, else the oldest data item; `queue.Empty` after `timeout` s."""
        with self._ready:
            if not self._ready.wait_for(lambda: self._urgent or self._data, timeout):
                raise queue.Empty
            return (self._urgent or self._data).popleft()

    def get_nowait(self) -> T:
        return self.get(timeout=0)

    def empty(self) -> bool:
        with self._ready:
            return not self._urgent and not self._data

    def any(self, predicate: Callable[[T], bool]) -> bool:
        """True when a waiting item satisfies `predicate` (called under the lock: keep it short)."""
        with self._ready:
            return any(predicate(x) for x in self._urgent) or any(predicate(x) for x in self._data)

    def __len__(self) -> int:
        with self._ready:
            return len(self._urgent) + len(self._data)


class Outbox(Lanes[Event]):
    """Where stages put their output: the pipeline's bus, unbounded, urgent events first."""


def stage_threads() -> int:
    """torch threads for a stage thread: half the cores, at least one. Stages overlap (the
    question is transcribed while the frame is analyzed, speech is synthesized while the answer
    streams), and OpenMP threads that outnumber the cores spin against each other: on 2 cores,
    two threads in the ASR stage and two in the describer made release -> transcript 130 -> 710
    ms."""
    return max(1, (os.cpu_count() or 2) // 2)


#: glibc's mallopt parameter for the most malloc arenas.
_M_ARENA_MAX = -8
#: Arenas for the whole process (`limit_malloc_arenas`).
MALLOC_ARENAS = 2


def _libc():
    """glibc through ctypes, or None (not Linux, or another C library)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt, libc.malloc_trim  # noqa: B018 - both are glibc's
        return libc
    except (OSError, AttributeError):  # not glibc (musl): nothing to tune this way
        log.debug("glibc's malloc is not available here")
        return None


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> None:
    """At most `arenas` malloc arenas for threads made from now on (glibc's `mallopt`; a no-op
    elsewhere, or when the user set MALLOC_ARENA_MAX). By default glibc gives threads that
    allocate at once arenas of their own, up to 8 per core, and each keeps what its thread
    freed: camera frames, activations and decoder tensors made on one stage thread and freed
    on another grew them. Measured with the Balanced (CPU) preset in `bench e2e` (20 turns):
    peak memory 2.57 -> 2.18 GB, and the answer's first token steadier (p50 246 -> 165 ms, in
    two runs half an hour apart on the same machine). Called by the bootstrap, before any stage thread
    starts."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return
    libc = _libc()
    if libc is not None:
        libc.mallopt(_M_ARENA_MAX, arenas)


def release_freed_memory() -> None:
    """Hand memory freed while models loaded back to the system (glibc's `malloc_trim`; a no-op
    elsewhere). Loading keeps freed pieces in the allocator's pools: a checkpoint read in
    16-bit floats then quantized, float32 layers let go after their int8 copies were made.
    Measured with the Balanced (CPU) preset's models: 370 MB of resident memory that nothing
    used. Called by each stage after its setup, on its own thread. (Fixing glibc's mmap
    threshold at 1 MB after loading, so big blocks got pages of their own, lowered the peak
    too, but every such block then faulted its pages in anew: the first token came 100 ms
    later; not kept.)"""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


class Stage:
    """Base class. Subclasses set `name` and override `setup`, `process`, maybe `poll` and `interrupt`.

    Threads: `submit`, `interrupt` and `stop` may be called from any thread; `setup`, `process`,
    `poll` and `teardown` run on the stage's own thread.
    """

    name: StageName = StageName.PIPELINE
    #: Seconds between `poll()` calls when the inbox is empty; None means never poll, and the
    #: thread sleeps until an item comes (a stage may make this a property: read each time).
    poll_interval: float | None = None
    inbox_size: int = 256
    #: torch's intra-op threads for this stage's thread (see `stage_threads`); a stage that
    #: runs alone may ask for more. Set when the thread starts and again after `setup`.
    torch_threads: int | None = None

    def __init__(self, outbox: Outbox, generation: Generation) -> None:
        self.outbox = outbox
        self.generation = generation
        self.inbox: Lanes[InboxItem] = Lanes(max_data=self.inbox_size)
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
        """Queue an item for this stage. Never blocks. Urgent items are always taken; data is
        refused (False, counted and reported) when `inbox_size` data items already wait."""
        if self.inbox.put(item):
            return True
        self.dropped += 1
        self.emit_error(f"{self.name.value} is overloaded; an event was dropped. "
                        "If this repeats, choose a smaller model.", recoverable=True)
        return False

    def stop(self, timeout: float = 2.0) -> None:
        self.request_stop()
        self.join(timeout)

    def request_stop(self) -> None:
        """Tell the stage thread to end (any thread; returns at once)."""
        self.stop_event.set()
        self.interrupt()
        self.inbox.put(None)  # the sentinel rides the urgent lane: it overtakes queued work

    def join(self, timeout: float = 2.0) -> None:
        """Wait up to `timeout` seconds for the stage thread to end."""
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

    def _pin_threads(self) -> None:
        """Give this thread its torch thread count (only once torch is loaded: the core never
        imports it). OpenMP keeps the count per calling thread, so each stage sets its own."""
        torch = sys.modules.get("torch")
        if torch is not None:
            torch.set_num_threads(self.torch_threads or stage_threads())

    def _ensure_setup(self, item: Event | None = None) -> bool:
        """Run setup once; on failure report it (tagged with the item's turn, so that turn
        ends with the error instead of waiting) and retry on the next item."""
        if self._set_up:
            return True
        try:
            self._pin_threads()
            self.setup()
            self._pin_threads()  # setup may have loaded torch, or a library that changed it
            release_freed_memory()
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
                # No poll: no timeout either. An idle stage never wakes (stop() sends a sentinel).
                item = self.inbox.get(timeout=self.poll_interval or None)
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
