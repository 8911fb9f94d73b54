"""Watch mode inside the pipeline, on fakes: "tell me when you see my keys" is answered and
starts a watch, the watch speaks once when the thing appears (a Sighting, a spoken notice, the
rising earcon), pauses during turns, and "stop", Esc and the timeout end it."""
from __future__ import annotations


import numpy as np

from assistant import events as ev
from assistant.config import Config
from tests.support.fakes import (
    FakeCamera,
    RecordingSpeaker,
    ScriptedFinder,
    ScriptedTts,
    ScriptedVlm,
)
from tests.support.events import EventLog
from ui.bootstrap import Parts, bootstrap
from vision.answer.intents import watch_request

DARK_IMAGE = np.full((48, 64, 3), 20, np.uint8)
BRIGHT_IMAGE = np.full((48, 64, 3), 230, np.uint8)


def make(images, timeout_s: float = 60.0, finder=None, **shell):
    config = Config().with_value("finder.watch_timeout_s", timeout_s).with_value(
        "finder.watch_fps", 15.0)
    finder = finder or ScriptedFinder()
    speaker = RecordingSpeaker()
    pipeline = bootstrap(config, parts=Parts(audio_in=False, asr=False),
                         camera=FakeCamera(images, fps=30), vlm=ScriptedVlm(), tts=ScriptedTts(),
                         speaker=speaker, finder=finder, **shell)
    pipeline.start()
    assert pipeline.wait_ready(10)
    return pipeline, EventLog(pipeline), finder


def ask(pipeline, log, text: str) -> ev.TurnEnded:
    before = {e.turn_id for e in log.of(ev.TurnStarted)}
    pipeline.submit(ev.Ask(text=text))
    started = log.wait_for(lambda e: isinstance(e, ev.TurnStarted) and e.turn_id not in before)
    return log.wait_for(lambda e: isinstance(e, ev.TurnEnded) and e.turn_id == started.turn_id
                        and e.answer, timeout=10)


def watching(log, what: str) -> ev.Status:
    return log.wait_for(lambda e: isinstance(e, ev.Status) and e.stage == ev.StageName.WATCH
                        and e.state == "watching" and e.detail == what)


def test_watch_requests_are_recognized():
    assert watch_request("Tell me when you see my keys.").query == "keys"
    assert watch_request("let me know when the light goes off").kind == "light"
    assert watch_request("let me know when the light goes off").query == "off"
    assert watch_request("Stop watching").kind == "stop"
    assert watch_request("Where are my keys?") is None  # a one-off find, not a watch
    assert watch_request("stop the car?") is None


def test_the_command_line_says_its_own_way_to_end_a_watch(no_thread_leak):
    pipeline, log, _finder = make([BRIGHT_IMAGE], stop_hint="Press Ctrl+C to end.")
    try:
        ended = ask(pipeline, log, "Tell me when you see my keys")
        assert ended.answer == "I'll tell you when I see keys. Press Ctrl+C to end."
    finally:
        pipeline.stop()


def test_tell_me_when_answers_then_speaks_once_when_it_appears(no_thread_leak):
    pipeline, log, finder = make([BRIGHT_IMAGE])
    try:
        ended = ask(pipeline, log, "Tell me when you see my keys")
        assert ended.answer == ("I'll tell you when I see keys. Press Escape or say stop to end.")
        watching(log, "keys")
        assert finder.loaded
        log.wait_for(lambda e: isinstance(e, ev.TurnEnded))
        looked = finder.calls
        finder.gate.set()  # the keys come into view
        sighting = log.wait_type(ev.Sighting, timeout=10)
        assert sighting.message == "I see keys, at two o'clock."
        assert finder.calls > looked
        # Said in Glimpse's voice (turn 0 speech) and shown as a notice.
        log.wait_for(lambda e: isinstance(e, ev.Notice) and e.message == sighting.message
                     and e.speak)
        log.wait_for(lambda e: isinstance(e, ev.SpeechChunk) and e.turn_id == 0
                     and e.text.strip() and e.text.strip() in sighting.message)
        log.wait_for(lambda e: isinstance(e, ev.Status) and e.stage == ev.StageName.WATCH
                     and e.state == "idle")
        # One sighting only: the watch has ended.
        ended = ask(pipeline, log, "stop")
        assert ended.answer == "I'm not watching for anything."
        assert len(log.of(ev.Sighting)) == 1
    finally:
        pipeline.stop()


def test_stop_and_escape_end_the_watch():
    pipeline, log, finder = make([BRIGHT_IMAGE])
    try:
        ask(pipeline, log, "tell me when you see a bicycle")
        watching(log, "bicycle")
        ended = ask(pipeline, log, "Stop watching.")
        assert ended.answer == "Stopped watching for a bicycle."
        log.wait_for(lambda e: isinstance(e, ev.Status) and e.stage == ev.StageName.WATCH
                     and e.state == "idle")
        # A new watch replaces an old one, and says so.
        ask(pipeline, log, "tell me when you see a bicycle")
        watching(log, "bicycle")
        ended = ask(pipeline, log, "watch for my keys")
        assert ended.answer.startswith("I'll stop watching for a bicycle and tell you when I "
                                       "see keys.")
        watching(log, "keys")
        # Esc with no turn running ends the watch, and says so.
        pipeline.submit(ev.Stop())
        log.wait_for(lambda e: isinstance(e, ev.Notice) and e.message ==
                     "Stopped watching for keys." and e.speak)
        finder.gate.set()
        assert not log.of(ev.Sighting)
    finally:
        pipeline.stop()


def test_a_new_question_pauses_the_watch_but_does_not_end_it():
    pipeline, log, finder = make([BRIGHT_IMAGE])
    try:
        ask(pipeline, log, "tell me when you see my keys")
        watching(log, "keys")
        # An ordinary question while watching: answered by the engine, the watch goes on.
        ended = ask(pipeline, log, "what is in front of me?")
        assert ended.answer and "keys" not in ended.answer
        finder.gate.set()
        assert log.wait_type(ev.Sighting, timeout=10).query == "keys"
    finally:
        pipeline.stop()


def test_the_watch_times_out_with_a_spoken_notice():
    pipeline, log, _finder = make([BRIGHT_IMAGE], timeout_s=5.0)
    try:
        ask(pipeline, log, "tell me when you see my keys")
        notice = log.wait_for(lambda e: isinstance(e, ev.Notice) and "stopped watching" in
                              e.message, timeout=15)
        assert notice.message == "I stopped watching for keys: not seen in 5 seconds."
        assert notice.speak
    finally:
        pipeline.stop()


def test_light_watch_plays_the_level_and_speaks_when_it_goes_on():
    pipeline, log, finder = make([DARK_IMAGE])
    try:
        camera = pipeline.stages.watch.camera
        ended = ask(pipeline, log, "Tell me when the light goes on")
        assert ended.answer.startswith("I'll tell you when the light goes on.")
        levels = log.wait_type(ev.LightLevel, timeout=10)
        assert levels.brightness < 0.15
        assert not log.of(ev.Sighting)
        camera.images = [BRIGHT_IMAGE]  # the light goes on
        sighting = log.wait_type(ev.Sighting, timeout=10)
        assert sighting.message.startswith("The light is on now (brightness 90%")
        assert finder.calls == 0  # brightness only, no finder
    finally:
        pipeline.stop()
