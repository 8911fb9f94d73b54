"""The describer reads the early frame while "read the sign" is still being spoken, and the
question at release is answered from that reading (real perception and reader, a real photo)."""
from __future__ import annotations

from pathlib import Path

import cv2

from assistant import events as ev
from assistant.config import Config
from assistant.events import Mode
from assistant.ports import VlmRequest
from vision.answer.describer import from_config

SIGN = Path(__file__).parents[1] / "data" / "exit_sign.jpg"


class CountingReader:
    """The real reader, counting its reads."""

    def __init__(self, reader):
        self.reader, self.reads = reader, 0

    def load(self):
        self.reader.load()

    def read(self, image, stop=None):
        self.reads += 1
        return self.reader.read(image, stop=stop)


def _describer():
    describer = from_config(Config())
    describer.reader = CountingReader(describer.reader)
    describer.load()
    return describer


def test_read_intent_heard_early_reads_once_and_the_answer_uses_it():
    describer = _describer()
    frame = ev.Frame(image=cv2.imread(str(SIGN)), captured_at=12.5, source="cam", turn_id=3)
    describer.prepare_frame(frame)  # the early frame at the press
    describer.prepare_question("Can you", Mode.ASK, 3)
    assert describer.reader.reads == 0, "no read intent heard yet"
    describer.prepare_question("Can you read the sign", Mode.ASK, 3)
    describer.prepare_question("Can you read the sign for me", Mode.ASK, 3)
    assert describer.reader.reads == 1
    answer = describer.answer(VlmRequest(question="Can you read the sign for me?", frame=frame))
    assert describer.reader.reads == 1, "the answer came from the early reading"
    assert "EXIT" in " ".join(answer).upper()


def test_read_mode_reads_early_and_other_turns_or_questions_do_not():
    describer = _describer()
    frame = ev.Frame(image=cv2.imread(str(SIGN)), captured_at=1.0, source="cam", turn_id=7)
    describer.prepare_frame(frame)
    describer.prepare_question("what colour is this", Mode.ASK, 7)  # not a reading
    describer.prepare_question("read this", Mode.ASK, 8)  # another turn's question
    assert describer.reader.reads == 0
    describer.prepare_question("", Mode.READ, 7)  # read mode reads whatever is asked
    assert describer.reader.reads == 1
    # A different frame at release (the scene changed) is read again, not answered stale.
    moved = ev.Frame(image=cv2.imread(str(SIGN))[::2, ::2].copy(), captured_at=2.0,
                     source="cam", turn_id=7)
    describer.answer(VlmRequest(question="read it", frame=moved, mode=Mode.READ))
    assert describer.reader.reads == 2
