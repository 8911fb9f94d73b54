"""The pipeline on fakes: a full turn, interruption, errors as events, shutdown."""
from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pytest

from assistant import events as ev
from assistant.config import Config
from tests.support.fakes import (
    FakeCamera,
    FakeMicrophone,
    RecordingSpeaker,
    ScriptedAsr,
    ScriptedTts,
    ScriptedVlm,
    speech,
)
from tests.support.events import EventLog
from ui.bootstrap import bootstrap


def make(config: Config | None = None, **overrides):
    images = [np.full((48, 64, 3), v, np.uint8) for v in (40, 120)]
    kwargs = dict(mic=FakeMicrophone(speed=2.0), camera=FakeCamera(images), asr=ScriptedAsr(),
                  vlm=ScriptedVlm(), tts=ScriptedTts(), speaker=RecordingSpeaker())
    kwargs.update(overrides)
    pipeline = bootstrap(config or Config(), **kwargs)
    pipeline.start()
    assert pipeline.wait_ready(10)
    return pipeline, EventLog(pipeline), kwargs


def press_and_speak(pipeline, log, mic, seconds=1.0):
    mic.play(speech(seconds))
    pipeline.submit(ev.PushToTalkDown())
    log.wait_for(lambda e: isinstance(e, ev.Level) and e.rms > 0.1)
    # The mic runs at 2x: the clip is in once the level shows speech and a little time passed.
    log.wait_for(lambda e: isinstance(e, ev.Transcript) and e.partial, timeout=10)
    pipeline.submit(ev.PushToTalkUp())


def test_full_turn_in_order(no_thread_leak):
    pipeline, log, parts = make()
    try:
        press_and_speak(pipeline, log, parts["mic"])
        metrics = log.wait_type(ev.Metrics, timeout=10)
        ended = log.wait_type(ev.TurnEnded)
        assert not metrics.cancelled
        marks = [getattr(metrics, m) for m in ev.Metrics.MARKS]
        assert all(m is not None for m in marks), metrics
        m = metrics
        # The frame is chosen at release, in parallel with transcription: both precede the answer.
        assert m.press <= m.release <= min(m.final_transcript, m.frame_chosen)
        assert max(m.final_transcript, m.frame_chosen) <= m.first_token <= m.first_audio_queued
        assert m.first_audio_queued <= m.first_audio_played <= m.done
        assert ended.transcript == "what do you see"
        assert ended.answer == "I see a cat on a mat. It is asleep."
        kinds = [type(e) for e in log.events]
        order = [ev.Transcript, ev.Frame, ev.AnswerToken, ev.Answer, ev.SpeechChunk,
                 ev.PlaybackStarted, ev.Metrics]
        firsts = [kinds.index(k) for k in order]
        assert firsts[2:] == sorted(firsts[2:])
        assert parts["speaker"].played, "nothing was played"
        # The VLM got the frame chosen for the turn.
        assert parts["vlm"].requests[0].frame is not None
    finally:
        pipeline.stop()


def test_a_question_wakes_the_speaker_before_any_answer_exists(no_thread_leak):
    """A resting speaker stream is started when a question starts (the key press, or a typed
    question), not when the first answer chunk arrives."""
    pipeline, log, parts = make()
    try:
        speaker = parts["speaker"]
        assert speaker.wakes == 0
        parts["mic"].play(speech(1.0))
        pipeline.submit(ev.PushToTalkDown())
        log.wait_for(lambda e: isinstance(e, ev.Status) and e.state == "listening")
        assert speaker.wakes == 1 and not speaker.queued  # awake, nothing to play yet
        log.wait_for(lambda e: isinstance(e, ev.Transcript) and e.partial, timeout=10)
        pipeline.submit(ev.PushToTalkUp())
        log.wait_type(ev.TurnEnded, timeout=10)
        # The typed question's own turn (on a busy machine the spoken one may have been "Too
        # short", and a turn that never was gives its number back: the next one is 1 again).
        seen = len(log.events)

        def new(e: ev.Event) -> bool:
            return any(e is later for later in log.events[seen:])

        pipeline.submit(ev.Ask(text="what is this?"))
        asked = log.wait_for(lambda e: isinstance(e, ev.TurnStarted) and new(e), timeout=10)
        log.wait_for(lambda e: isinstance(e, ev.TurnEnded) and e.turn_id == asked.turn_id
                     and new(e), timeout=10)
        assert speaker.wakes >= 2
    finally:
        pipeline.stop()


def test_press_during_answer_cancels_old_turn(no_thread_leak):
    vlm = ScriptedVlm(tokens=[f"word{i} " for i in range(200)], token_s=0.01)
    pipeline, log, parts = make(vlm=vlm)
    try:
        press_and_speak(pipeline, log, parts["mic"])
        first = log.wait_type(ev.AnswerToken)
        old_gen = first.gen
        pipeline.submit(ev.PushToTalkDown())
        new_turn = log.wait_for(lambda e: isinstance(e, ev.TurnStarted) and e.turn_id != first.turn_id)
        cut = len(log.events)
        cancelled = log.wait_for(lambda e: isinstance(e, ev.TurnEnded) and e.turn_id == first.turn_id)
        assert cancelled.cancelled
        pipeline.submit(ev.PushToTalkUp())
        log.wait_for(lambda e: isinstance(e, ev.TurnEnded) and e.turn_id == new_turn.turn_id)
        stale = [e for e in log.events[cut:] if isinstance(e, ev.Data) and e.gen == old_gen
                 and isinstance(e, (ev.AnswerToken, ev.SpeechChunk, ev.PlaybackStarted))]
        assert not stale, stale
        speaker = parts["speaker"]
        assert speaker.cleared >= 1
        # The press cancels the running answer at its next decoding step: the generation is
        # bumped before the new turn starts, so at most the piece already past its cancel check
        # comes after (a step is 10 ms here; the user-facing figure is bench soak's barge-ins).
        assert vlm.stopped.wait(10)
        assert sum(1 for t in vlm.yielded_at if t > new_turn.t) <= 1, vlm.yielded_at[-5:]
        assert len(vlm.yielded_at) < 200 + 1  # the old answer did not run to its end
    finally:
        pipeline.stop()


def test_stop_silences_and_ends_turn(no_thread_leak):
    vlm = ScriptedVlm(tokens=[f"w{i}. " for i in range(100)], token_s=0.01)
    pipeline, log, _ = make(vlm=vlm)
    try:
        pipeline.submit(ev.Ask(text="what is this"))
        log.wait_type(ev.SpeechChunk)
        pipeline.submit(ev.Stop())
        ended = log.wait_type(ev.TurnEnded)
        assert ended.cancelled
        assert log.wait_type(ev.Metrics).cancelled
    finally:
        pipeline.stop()


def test_stage_error_is_an_event_and_next_turn_works(no_thread_leak):
    vlm = ScriptedVlm(fail_times=1)
    pipeline, log, _ = make(vlm=vlm)
    try:
        pipeline.submit(ev.Ask(text="first"))
        err = log.wait_type(ev.ErrorEvent)
        assert err.stage == ev.StageName.ANSWER and "scripted VLM failure" in err.message
        first = log.wait_type(ev.TurnEnded)
        assert first.answer == ""
        pipeline.submit(ev.Ask(text="second"))
        second = log.wait_for(lambda e: isinstance(e, ev.TurnEnded) and e.turn_id != first.turn_id)
        assert second.answer.startswith("I see a cat")
        assert [t.transcript for t in pipeline.history] == ["first", "second"]
    finally:
        pipeline.stop()


def test_failed_setup_reports_and_retries(no_thread_leak):
    class BrokenOnce(ScriptedAsr):
        def __init__(self):
            super().__init__()
            self.loads = 0

        def load(self):
            self.loads += 1
            if self.loads == 1:
                raise FileNotFoundError(2, "No such file", "/models/missing.pt")

    asr = BrokenOnce()
    pipeline, log, parts = make(asr=asr)
    try:
        err = log.wait_type(ev.ErrorEvent)
        assert "/models/missing.pt" in err.message
        press_and_speak(pipeline, log, parts["mic"])
        ended = log.wait_type(ev.TurnEnded)
        assert ended.transcript == "what do you see"
    finally:
        pipeline.stop()


def test_silence_gives_no_question(no_thread_leak):
    pipeline, log, parts = make()
    try:
        parts["mic"].play(np.zeros(8000, np.float32))
        pipeline.submit(ev.PushToTalkDown())
        log.wait_type(ev.Level)
        log.wait_for(lambda e: isinstance(e, ev.Transcript) and e.partial)
        pipeline.submit(ev.PushToTalkUp())
        ended = log.wait_type(ev.TurnEnded)
        assert ended.answer == "" and ended.transcript == ""
        assert any("didn't catch" in n.message for n in log.of(ev.Notice))
        assert not parts["vlm"].requests
    finally:
        pipeline.stop()


def test_tap_is_ignored(no_thread_leak):
    pipeline, log, parts = make()
    try:
        pipeline.submit(ev.PushToTalkDown())
        pipeline.submit(ev.PushToTalkUp())
        ended = log.wait_type(ev.TurnEnded)
        assert ended.cancelled and ended.dropped
        assert any("Too short" in n.message for n in log.of(ev.Notice))
        assert not parts["asr"].calls or all(partial for _, partial in parts["asr"].calls)
        # Never a turn for the user: no timings, not in history, and its number is used again.
        assert not log.of(ev.Metrics) and pipeline.history == []
        pipeline.submit(ev.Ask(text="what is this"))
        again = log.wait_for(lambda e: isinstance(e, ev.TurnEnded) and not e.dropped, timeout=10)
        assert again.turn_id == ended.turn_id and not again.cancelled
        assert [t.turn_id for t in pipeline.history] == [ended.turn_id]
    finally:
        pipeline.stop()


def test_follow_up_reuses_frame_and_memory(no_thread_leak):
    still = np.full((48, 64, 3), 90, np.uint8)
    vlm = ScriptedVlm()
    pipeline, log, _ = make(vlm=vlm, camera=FakeCamera([still]))
    try:
        pipeline.submit(ev.Ask(text="what is it"))
        first = log.wait_type(ev.TurnEnded)
        pipeline.submit(ev.Ask(text="and the one on the left?"))
        log.wait_for(lambda e: isinstance(e, ev.TurnEnded) and e.turn_id != first.turn_id)
        a, b = vlm.requests
        assert a.frame.captured_at == b.frame.captured_at
        assert b.history == (("what is it", "I see a cat on a mat. It is asleep."),)
    finally:
        pipeline.stop()


def test_device_lost_mid_utterance_still_transcribes(no_thread_leak):
    pipeline, log, parts = make()
    try:
        mic = parts["mic"]
        mic.play(speech(2.0))
        pipeline.submit(ev.PushToTalkDown())
        log.wait_for(lambda e: isinstance(e, ev.Transcript) and e.partial)
        mic.lose()
        err = log.wait_type(ev.ErrorEvent, timeout=5)
        assert err.stage == ev.StageName.CAPTURE and "disconnected" in err.message
        ended = log.wait_type(ev.TurnEnded)
        assert ended.transcript == "what do you see"
    finally:
        pipeline.stop()


def test_shutdown_joins_every_thread_within_its_timeout():
    """`stop(timeout)` returns once every stage thread has ended, or at the timeout: whichever
    it was, no thread may be left (a stage that ignored its stop would still be alive)."""
    before = set(threading.enumerate())
    pipeline, log, _ = make()
    pipeline.submit(ev.Ask(text="hello"))
    log.wait_type(ev.AnswerToken)
    pipeline.stop(timeout=2.0)
    left = [t.name for t in threading.enumerate() if t not in before and t.is_alive()]
    assert not left


def test_typed_question_without_camera():
    pipeline, log, parts = make(camera=None, config=Config().with_value("camera.source", ""))
    try:
        pipeline.submit(ev.Ask(text="what time is it"))
        log.wait_type(ev.TurnEnded)
        assert parts["vlm"].requests[0].frame is None
    finally:
        pipeline.stop()


@pytest.mark.parametrize("kind", ["capture", "asr", "answer", "tts", "playback", "camera"])
def test_every_stage_runs_on_its_own_thread(kind):
    pipeline, _, _ = make()
    try:
        stage = getattr(pipeline.stages, kind)
        assert stage is not None and stage.alive
    finally:
        pipeline.stop()


def test_speak_plays_without_a_turn_and_a_press_silences_it(no_thread_leak):
    pipeline, log, parts = make()
    try:
        pipeline.submit(ev.Speak(text="The microphone is unplugged. Plug it back in."))
        speaker = parts["speaker"]
        log.wait_for(lambda e: isinstance(e, ev.SpeechChunk) and e.turn_id == 0 and e.final)
        assert parts["tts"].texts and not log.of(ev.TurnStarted)
        assert speaker.started.wait(5)
        pipeline.submit(ev.PushToTalkDown())
        log.wait_type(ev.TurnStarted)
        assert speaker.cleared >= 1
    finally:
        pipeline.stop()


def test_answer_engine_prepares_the_frame_before_the_question(no_thread_leak):
    class Preparing(ScriptedVlm):
        def __init__(self):
            super().__init__()
            self.calls = []

        def prepare_frame(self, frame, cancel=None, history=()):
            self.calls.append(("prepare", frame.captured_at))

        def stream(self, request, cancel):
            self.calls.append(("question", request.frame.captured_at))
            yield from super().stream(request, cancel)

    vlm = Preparing()
    still = FakeCamera([np.full((48, 64, 3), 90, np.uint8)])  # a scene that does not change
    pipeline, log, parts = make(vlm=vlm, asr=ScriptedAsr(delay=0.3), camera=still)
    try:
        press_and_speak(pipeline, log, parts["mic"])
        log.wait_type(ev.TurnEnded)
        # At the press (the early frame, while the question is spoken), at release (the same
        # frame: the scene did not change), then the question about it.
        assert [kind for kind, _ in vlm.calls] == ["prepare", "prepare", "question"]
        assert len({t for _, t in vlm.calls}) == 1  # the same frame throughout
    finally:
        pipeline.stop()


def test_a_scene_change_during_the_question_is_answered_from_the_new_frame(no_thread_leak):
    """The early frame is only a head start: when the picture at release differs from the one
    at the press, the question is about the release's frame."""
    class Preparing(ScriptedVlm):
        def __init__(self):
            super().__init__()
            self.prepared, self.asked = [], []
            self.looked = threading.Event()

        def prepare_frame(self, frame, cancel=None, history=()):
            self.prepared.append(frame.captured_at)
            self.looked.set()

        def stream(self, request, cancel):
            self.asked.append(request.frame.captured_at)
            yield from super().stream(request, cancel)

    class Turned(FakeCamera):
        """One scene until `turned` is set, another after."""

        def __init__(self):
            super().__init__([np.full((48, 64, 3), 40, np.uint8)])
            self.turned = threading.Event()
            board = (np.indices((48, 64)).sum(axis=0) // 4 % 2 * 200).astype(np.uint8)
            self.other = np.repeat(board[:, :, None], 3, axis=2)  # sharper than the grey

        def latest(self):
            frame = super().latest()
            return replace(frame, image=self.other) if self.turned.is_set() else frame

    vlm, camera = Preparing(), Turned()
    pipeline, log, parts = make(vlm=vlm, camera=camera)
    try:
        parts["mic"].play(speech(1.0))
        pipeline.submit(ev.PushToTalkDown())
        assert vlm.looked.wait(10), "the early frame is looked at while the question is spoken"
        log.wait_for(lambda e: isinstance(e, ev.Transcript) and e.partial, timeout=10)
        camera.turned.set()  # the user turns the camera before letting go
        later = camera.latest().captured_at
        log.wait_for(lambda e: isinstance(e, ev.Preview) and e.captured_at > later, timeout=10)
        pipeline.submit(ev.PushToTalkUp())
        log.wait_type(ev.TurnEnded)
        frame = log.of(ev.Frame)[0]
        assert vlm.asked == [frame.captured_at]
        assert np.array_equal(frame.image, camera.other), "the release's scene"
        assert vlm.prepared[0] != frame.captured_at and vlm.prepared[-1] == frame.captured_at
    finally:
        pipeline.stop()


class _TokenizingVlm(ScriptedVlm):
    """Shaped like TransformersVlm: its `prepare` tokenizes a request and is no frame hook."""

    def __init__(self):
        super().__init__()
        self.prepared = []

    def prepare(self, request):
        self.prepared.append(request.question)  # a Frame has no question: this would raise
        return {}


@pytest.mark.parametrize("engine", ["bare", "tokenizing", "grounded-tokenizing"])
def test_an_engine_without_the_frame_hook_answers_without_errors(engine, no_thread_leak):
    """The Frame sent at release reaches engines with no `prepare_frame` (or with a `prepare`
    that means something else): nothing is called on them and the turn has no error."""
    from vision.answer.choice import Grounded

    vlm = ScriptedVlm() if engine == "bare" else _TokenizingVlm()

    class Perception:
        def load(self):
            pass

        def analyze(self, image):
            class Result:
                def grounding_text(self):
                    return ""
            return Result()

    wrapped = Grounded(vlm, Perception()) if engine.startswith("grounded") else vlm
    pipeline, log, parts = make(vlm=wrapped, asr=ScriptedAsr(delay=0.3))
    try:
        press_and_speak(pipeline, log, parts["mic"])
        ended = log.wait_type(ev.TurnEnded)
        assert log.of(ev.Frame), "no frame was sent at release"
        assert not log.of(ev.ErrorEvent), log.of(ev.ErrorEvent)
        assert ended.answer == "I see a cat on a mat. It is asleep."
        assert getattr(vlm, "prepared", []) == []
    finally:
        pipeline.stop()


def test_stop_overtakes_a_thousand_queued_tokens(no_thread_leak):
    """The conductor is held while a thousand tokens of the running turn and then a Stop wait
    on the bus: the Stop is handled first, so none of the tokens is shown or spoken."""
    pipeline, log, parts = make(vlm=ScriptedVlm(tokens=["I see "]))
    held, release = threading.Event(), threading.Event()

    def hold(event):
        if isinstance(event, ev.TurnStarted) and not held.is_set():
            held.set()
            release.wait(10)

    pipeline.add_listener(hold)
    try:
        pipeline.submit(ev.Ask(text="what is this"))
        assert held.wait(5)
        gen = pipeline.generation.value
        for i in range(1000):
            pipeline.bus.put(ev.AnswerToken(text=f"queued{i} ", index=i, turn_id=1, gen=gen))
        pipeline.submit(ev.Stop())
        release.set()
        ended = log.wait_type(ev.TurnEnded, timeout=10)
        assert ended.cancelled and "queued" not in ended.answer
        log.wait_for(lambda e: isinstance(e, ev.Status) and e.state == "idle")
        assert not [t for t in log.of(ev.AnswerToken) if t.text.startswith("queued")]
        assert not any("queued" in text for text in parts["tts"].texts)
    finally:
        release.set()
        pipeline.stop()


def test_speech_chunks_reach_listeners_but_not_the_shells_queue(no_thread_leak):
    pipeline, log, _ = make()
    shown: list[ev.Event] = []
    try:
        pipeline.submit(ev.Ask(text="what is this"))
        log.wait_type(ev.TurnEnded, timeout=10)
        while not pipeline.events.empty():
            shown.append(pipeline.events.get_nowait())
    finally:
        pipeline.stop()
    assert log.of(ev.SpeechChunk) and log.of(ev.PlaybackStarted)
    assert {ev.Answer, ev.AnswerToken, ev.TurnEnded} <= {type(e) for e in shown}
    assert not [e for e in shown if isinstance(e, (ev.SpeechChunk, ev.PlaybackStarted))]


def test_the_pipeline_speaks_its_own_notices(no_thread_leak):
    """"I didn't catch a question" is said by the core itself, with no window to ask for it."""
    pipeline, log, parts = make(asr=ScriptedAsr(text=""))
    try:
        pipeline.submit(ev.AskAudio(samples=speech(0.5)))
        notice = log.wait_type(ev.Notice, timeout=10)
        assert notice.speak and "didn't catch" in notice.message
        log.wait_for(lambda e: isinstance(e, ev.SpeechChunk) and e.turn_id == 0 and e.final)
        assert parts["tts"].texts and "catch" in " ".join(parts["tts"].texts)
        assert parts["speaker"].started.wait(5)
    finally:
        pipeline.stop()


def test_answers_and_notices_are_not_spoken_when_speak_answers_is_off(no_thread_leak):
    config = Config().with_value("ui.speak_answers", False)
    pipeline, log, parts = make(config=config)
    try:
        pipeline.submit(ev.Ask(text="what is this"))
        ended = log.wait_type(ev.TurnEnded, timeout=10)
        assert not ended.cancelled and ended.answer.startswith("I see a cat")
        pipeline.submit(ev.Ask(text=""))  # a notice that would be spoken
        log.wait_for(lambda e: isinstance(e, ev.TurnEnded) and e.turn_id != ended.turn_id)
        assert log.of(ev.Notice)
        pipeline.submit(ev.Speak(text="Ready."))
        pipeline.submit(ev.Stop())
        log.wait_for(lambda e: isinstance(e, ev.Status) and e.state == "idle"
                     and e.turn_id == 0)
    finally:
        pipeline.stop()
    assert parts["tts"].texts == [] and parts["speaker"].played == []
    assert not log.of(ev.SpeechChunk)
