"""A stage's inbox and the pipeline's bus: urgent events first, never dropped.

Stage tests feed events in and assert on what comes out (or what the stage saw)."""
from __future__ import annotations

import queue
import threading
from typing import Iterator

from assistant import events as ev
from assistant.stage import Generation, Lanes, Outbox, Stage


def test_urgent_items_are_taken_before_older_data():
    lanes: Lanes = Lanes()
    for i in range(1000):
        lanes.put(ev.AnswerToken(text=f"t{i} ", index=i, turn_id=1))
    lanes.put(ev.Stop())
    lanes.put(None)  # the end sentinel rides the urgent lane too
    assert isinstance(lanes.get(timeout=1), ev.Stop)
    assert lanes.get(timeout=1) is None
    assert [lanes.get(timeout=1).index for _ in range(3)] == [0, 1, 2]  # data keeps its order
    assert len(lanes) == 997


def test_empty_lanes_time_out():
    lanes: Lanes = Lanes()
    try:
        lanes.get(timeout=0.05)
    except queue.Empty:
        pass
    else:
        raise AssertionError("an empty queue returned an item")


def test_a_waiting_reader_wakes_for_an_urgent_item():
    bus = Outbox()
    got: list[ev.Event] = []
    reader = threading.Thread(target=lambda: got.append(bus.get(timeout=5)))
    reader.start()
    bus.put(ev.Stop())
    reader.join(5)
    assert got and isinstance(got[0], ev.Stop)


class Recorder(Stage):
    """Records what it is handed; held at `gate` until the test lets it serve."""

    inbox_size = 4

    def __init__(self, outbox: Outbox, generation: Generation) -> None:
        super().__init__(outbox, generation)
        self.gate = threading.Event()
        self.seen: list[ev.Event] = []
        self.done = threading.Condition()

    def setup(self) -> None:
        self.gate.wait(10)

    def process(self, item: ev.Event) -> Iterator[ev.Event]:
        with self.done:
            self.seen.append(item)
            self.done.notify_all()
        return iter(())

    def wait_seen(self, n: int) -> bool:
        with self.done:
            return self.done.wait_for(lambda: len(self.seen) >= n, 5)


def test_a_full_inbox_refuses_data_but_never_an_urgent_event(no_thread_leak):
    bus = Outbox()
    stage = Recorder(bus, Generation())
    stage.start()  # held in setup: nothing is served yet
    try:
        data = [ev.AnswerToken(text=f"t{i}", index=i, turn_id=1) for i in range(6)]
        accepted = [stage.submit(item) for item in data]
        assert accepted == [True] * 4 + [False] * 2
        assert stage.dropped == 2
        overload = bus.get(timeout=1)
        assert isinstance(overload, ev.ErrorEvent) and "overloaded" in overload.message
        urgent = [ev.MicGate(open=False), ev.SetMode(mode=ev.Mode.READ), ev.MicGate(open=True)]
        assert all(stage.submit(item) for item in urgent)  # the data lane is still full
        stage.gate.set()
        assert stage.wait_seen(7)
        assert stage.seen[:3] == urgent  # served first, in their own order
        assert [t.index for t in stage.seen[3:]] == [0, 1, 2, 3]
    finally:
        stage.gate.set()
        stage.stop()


def test_stop_ends_a_stage_with_a_full_inbox_at_once(no_thread_leak):
    stage = Recorder(Outbox(), Generation())
    stage.start()
    for i in range(4):
        stage.submit(ev.AnswerToken(text="x", index=i, turn_id=1))
    stage.gate.set()
    stage.stop(timeout=2)
    assert not stage.alive
