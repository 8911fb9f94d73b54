"""Looking ahead between turns: the camera stage sends the settled view as an IdleFrame, the
answer stage lets the engine look at it within its idle-CPU budget, and a press on the same view
is answered about that very frame (so the engine's look is not wasted). The camera stage is
driven by hand here (its poll, a clock the test moves), the pipeline on fakes."""
from __future__ import annotations

import threading

import numpy as np

from assistant import events as ev
from assistant.config import Config
from assistant.ports import Camera
from assistant.stage import Generation, Outbox
from tests.support.events import EventLog
from tests.support.fakes import FakeCamera, FakeMicrophone, RecordingSpeaker, ScriptedAsr, \
    ScriptedTts, ScriptedVlm, speech
from tests.support.rig.camera import photo
from ui.bootstrap import bootstrap
from vision.answer.stage import LookAhead
from vision.camera.stage import CameraStage, CameraStageOptions


class HeldCamera(Camera):
    """Shows whatever picture the test holds up, as a new capture each time it is asked."""

    source = "held"

    def __init__(self) -> None:
        self.image = photo("coffee")
        self.t = 0.0

    def open(self) -> None: ...

    def close(self) -> None: ...

    def latest(self) -> ev.Frame:
        self.t += 0.01
        return ev.Frame(image=self.image, captured_at=self.t, source=self.source)


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _stage(**options) -> tuple[CameraStage, HeldCamera, Clock]:
    camera, clock = HeldCamera(), Clock()
    opts = CameraStageOptions(settle_s=1.0, check_s=0.5, resend_s=10.0, **options)
    return CameraStage(Outbox(), Generation(), camera, opts, clock=clock), camera, clock


def _idle(stage: CameraStage, clock: Clock, seconds: float, step: float = 0.5) -> list:
    """Poll for `seconds` of the test's clock; the IdleFrames sent meanwhile."""
    sent = []
    for _ in range(int(seconds / step)):
        clock.t += step
        sent += [e for e in stage.poll() if isinstance(e, ev.IdleFrame)]
    return sent


def test_a_settled_view_is_sent_once_then_again_only_after_the_resend_time():
    stage, camera, clock = _stage()
    assert _idle(stage, clock, 0.5) == []  # first sight: not settled yet
    sent = _idle(stage, clock, 1.5)
    assert len(sent) == 1
    first = sent[0]
    assert _idle(stage, clock, 8.0) == []  # the same view, within resend_s
    again = _idle(stage, clock, 2.5)
    assert [f.captured_at for f in again] == [first.captured_at]  # the same frozen frame


def test_a_view_that_keeps_changing_is_never_sent():
    stage, camera, clock = _stage()
    scenes = [photo("coffee"), photo("astronaut")]
    for i in range(20):
        camera.image = scenes[i % 2]
        assert _idle(stage, clock, 0.5) == []


def test_a_new_view_is_sent_once_it_settles_and_nothing_is_sent_while_the_key_is_held():
    stage, camera, clock = _stage()
    first = _idle(stage, clock, 2.0)[0]
    camera.image = photo("astronaut")
    list(stage.process(ev.BeginBurst(turn_id=1)))
    assert _idle(stage, clock, 5.0) == []  # a turn's burst: its own frames
    turn = [e for e in stage.process(ev.EndBurst(turn_id=1)) if isinstance(e, ev.Frame)][0]
    # The turn's frame is the view's frame now: the engine looked at it for the turn.
    assert _idle(stage, clock, 2.0) == []
    camera.image = photo("rocket")
    sent = _idle(stage, clock, 2.0)
    assert len(sent) == 1 and sent[0].captured_at not in (first.captured_at, turn.captured_at)


def test_a_press_on_the_same_view_is_about_the_frame_looked_at():
    stage, camera, clock = _stage()
    looked = _idle(stage, clock, 2.0)[0]
    early = [e for e in stage.process(ev.BeginBurst(turn_id=1, gen=0))
             if isinstance(e, ev.EarlyFrame)]
    assert early and early[0].captured_at == looked.captured_at


def test_look_ahead_can_be_turned_off():
    stage, camera, clock = _stage(look_ahead=False)
    assert _idle(stage, clock, 20.0) == []


def test_the_budget_keeps_looks_to_their_share_of_a_core():
    clock = Clock()
    budget = LookAhead(0.05, window_s=60.0, clock=clock)
    assert budget.allows()  # a full bucket after a quiet while
    budget.spend(4.0)  # one long look: 4 CPU seconds
    assert not budget.allows()
    # The bucket held 60 s at 5 % (3 CPU s): the look overdrew it by 1 s, paid back in 20 s.
    clock.t += 19
    assert not budget.allows()
    clock.t += 2
    assert budget.allows()
    # Over a long run of looks, the CPU spent stays under the share of the time passed.
    start = clock.t
    for _ in range(1000):
        clock.t += 1.0
        if budget.allows():
            budget.spend(2.0)
    assert budget.spent_s <= 0.05 * (clock.t - start) + 4.0 + 3.0  # + the first look, the bucket
    assert LookAhead(0.0).allows() is False  # a share of zero: never


class Looking(ScriptedVlm):
    def __init__(self) -> None:
        super().__init__()
        self.looks: list[tuple[float, bool]] = []  # (captured_at, with a cancel token)
        self.looked = threading.Event()

    def prepare_frame(self, frame, cancel=None, history=()):
        self.looks.append((frame.captured_at, cancel is not None))
        self.looked.set()


def test_the_pipeline_looks_ahead_and_the_turn_is_about_that_frame(no_thread_leak):
    vlm = Looking()
    still = FakeCamera([np.full((48, 64, 3), 90, np.uint8)])
    mic = FakeMicrophone(speed=2.0)
    pipeline = bootstrap(Config(), mic=mic, camera=still, asr=ScriptedAsr(), vlm=vlm,
                         tts=ScriptedTts(), speaker=RecordingSpeaker())
    pipeline.start()
    try:
        assert pipeline.wait_ready(10)
        log = EventLog(pipeline)
        assert vlm.looked.wait(10), "no look at the idle view"
        looked_at = vlm.looks[0][0]
        assert vlm.looks[0][1], "the idle look got no cancel token"
        mic.play(speech(1.0))
        pipeline.submit(ev.PushToTalkDown())
        started = log.wait_type(ev.TurnStarted)
        log.wait_for(lambda e: isinstance(e, ev.Level) and e.rms > 0.1 and e.t > started.t)
        log.wait_for(lambda e: isinstance(e, ev.Transcript) and e.partial and e.t > started.t)
        # Held like a person asking (a tap under audio.min_press_ms is dropped): the levels
        # come ten times a second, so this waits on events, not on a clock.
        log.wait_for(lambda e: isinstance(e, ev.Level) and e.t - started.t > 0.4)
        pipeline.submit(ev.PushToTalkUp())
        ended = log.wait_type(ev.TurnEnded)
        assert ended.answer and not ended.cancelled, ended
        assert vlm.requests[-1].frame.captured_at == looked_at
    finally:
        pipeline.stop()
