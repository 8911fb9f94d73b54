"""Each stage thread sets its own torch thread count (OpenMP keeps it per calling thread), so
stages that overlap do not oversubscribe the cores, whatever a library set for the process."""
from __future__ import annotations

import threading

import torch

from assistant.events import StageName
from assistant.stage import Generation, Outbox, Stage, stage_threads


class Probe(Stage):
    name = StageName.ASR

    def __init__(self, threads: int | None, meddle: int | None = None) -> None:
        super().__init__(Outbox(), Generation())
        self.torch_threads = threads
        self.meddle = meddle
        self.seen: int | None = None
        self.done = threading.Event()

    def setup(self) -> None:
        if self.meddle is not None:  # a library that sets the count when it loads
            torch.set_num_threads(self.meddle)

    def process(self, item):
        self.seen = torch.get_num_threads()
        self.done.set()
        return iter(())


def _seen(stage: Probe) -> int | None:
    stage.start()
    try:
        stage.submit(object())  # any item: process records the count
        assert stage.done.wait(10), "the stage did not run"
        return stage.seen
    finally:
        stage.stop()


def test_a_stage_runs_with_half_the_cores_by_default():
    assert stage_threads() >= 1
    assert _seen(Probe(None)) == stage_threads()


def test_a_stage_may_ask_for_its_own_count():
    assert _seen(Probe(3)) == 3


def test_a_count_changed_while_loading_is_put_back():
    assert _seen(Probe(2, meddle=5)) == 2
