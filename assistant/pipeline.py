"""The pipeline: stages wired through one bus, turns, interruption and the per-turn timeline.

Data flows one way:

    capture --Utterance--> asr --Transcript--+
    camera  --Frame/NoFrame------------------+--> (Question) answer --AnswerToken/Answer--> tts
                                                                    --SpeechChunk--> playback

Every stage puts its output on the shared bus (`Outbox`). The conductor thread reads the bus,
keeps the state of the current turn, forwards each event to the next stage and copies what the
user should see to `events` (drained by the UI bridge or the CLI): transcripts, tokens, answers,
frames, status, notices, errors, metrics, turn starts and ends; never the speech chunks. Commands
from the UI enter the same bus through `submit()`, so there is one stream and one thread that
decides. The bus serves urgent events (commands, status, errors) before queued data, so a Stop
or a new press is handled next however many tokens wait.

Notices marked `speak` are said by the pipeline itself (through the TTS stage, outside any turn),
so the window and the command line hear the same; `PipelineOptions.speak` False mutes answers
and notices alike.

Interruption: a new press, a typed question or Stop bumps the shared `Generation`; stages drop
everything tagged with an older generation, and each stage's `interrupt()` runs at once (the
speaker is cleared there).
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from assistant import events as ev
from assistant.events import Mode, StageName
from assistant.stage import Generation, Outbox, Stage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PipelineOptions:
    min_press_s: float = 0.2  # a tap shorter than this is ignored
    mode: Mode = Mode.ASK
    speak: bool = True  # say answers and spoken notices (TTS/playback) when those stages exist
    hands_free: bool = False  # gate the microphone while speaking
    # A question within this many seconds of the last turn, with no new frame asked for,
    # is a follow-up about the same frozen frame.
    follow_up_s: float = 60.0


@dataclass
class Stages:
    """The stages a pipeline runs; any may be None (e.g. no camera, no speech output)."""

    capture: Stage | None = None
    asr: Stage | None = None
    camera: Stage | None = None
    answer: Stage | None = None
    tts: Stage | None = None
    playback: Stage | None = None
    scene: Stage | None = None  # scene-description mode's watcher (vision.scene.stage)
    watch: Stage | None = None  # watch mode: "tell me when you see..." (vision.finder.watch_stage)

    def all(self) -> list[Stage]:
        return [s for s in (self.capture, self.asr, self.camera, self.answer, self.tts,
                            self.playback, self.scene, self.watch) if s is not None]


@dataclass
class _Turn:
    id: int
    gen: int
    mode: Mode
    marks: dict[str, float] = field(default_factory=dict)
    transcript: str | None = None
    language: str | None = None
    frame: ev.Frame | None = None
    frame_resolved: bool = False
    asked: bool = False
    answer: list[str] = field(default_factory=list)
    answered: bool = False
    spoken: bool = False  # a final SpeechChunk went to playback
    ended: bool = False

    def mark(self, name: str, t: float | None = None) -> None:
        self.marks.setdefault(name, ev.now() if t is None else t)


class Pipeline:
    """Owns the stages and the conductor thread.

    Threads: `submit` and `stop` may be called from any thread; everything else runs on the
    conductor thread. `events` is the output queue for one consumer (UI bridge or CLI).
    """

    def __init__(self, stages: Stages, options: PipelineOptions, *, bus: Outbox,
                 generation: Generation) -> None:
        self.stages = stages
        self.options = options
        self.bus = bus
        self.generation = generation
        self.events: queue.Queue[ev.OutputItem] = queue.Queue()
        self.mode = options.mode
        self._turn: _Turn | None = None
        self._last_turn: _Turn | None = None
        self._next_turn_id = 1
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self._history: list[ev.TurnEnded] = []
        self._listeners: list[Callable[[ev.Event], None]] = []
        self._watching = ""  # what watch mode looks for now (from the watch stage's Status)
        generation.on_bump(self._interrupt_stages)

    # -- public (any thread) ------------------------------------------------------------------

    def start(self) -> None:
        for stage in self.stages.all():
            stage.start()
        self._thread = threading.Thread(target=self._conduct, name="glimpse-pipeline", daemon=True)
        self._thread.start()

    def wait_ready(self, timeout: float = 60.0) -> bool:
        """Block until every stage finished its setup (models loaded or failed)."""
        return all(stage.ready.wait(timeout) for stage in self.stages.all())

    def submit(self, command: ev.Command) -> None:
        """Send a user intent. Never blocks."""
        self.bus.put(command)

    def stop(self, timeout: float = 2.0) -> None:
        """Stop every stage and the conductor; joins threads (each within `timeout`)."""
        self.bus.put(ev.Shutdown())
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._shutdown_stages(timeout)

    def continue_turns(self, first_turn_id: int) -> None:
        """Number the next turn `first_turn_id` (or later). Call before `start()`: a rebuilt or
        restarted pipeline then never reuses the number of a turn the user already has."""
        self._next_turn_id = max(self._next_turn_id, int(first_turn_id))

    @property
    def history(self) -> list[ev.TurnEnded]:
        """Finished turns, oldest first."""
        return list(self._history)

    # -- conductor ----------------------------------------------------------------------------

    def _conduct(self) -> None:
        while not self._stopped.is_set():
            event = self.bus.get()  # stop() puts Shutdown on the bus: no need to wake to check
            try:
                self._handle(event)
            except Exception as exc:  # noqa: BLE001 - the conductor must survive any bug
                log.exception("pipeline failed on %s", type(event).__name__)
                self._publish(ev.ErrorEvent(stage=StageName.PIPELINE, recoverable=True,
                                            message=f"Internal error while handling "
                                                    f"{type(event).__name__}: {exc}. The turn was "
                                                    "dropped; please report this."))
                if self._turn is not None:
                    self._end_turn(self._turn, cancelled=True)

    def add_listener(self, listener: Callable[[ev.Event], None]) -> None:
        """Call `listener(event)` for every event published to the user (status, errors, turn
        ends...) and for the current turn's speech chunks, playback start and playback end, which
        never go to `events`. On the conductor thread: it must return at once (earcons queue a
        sound)."""
        self._listeners.append(listener)

    def _publish(self, event: ev.Event, outward: bool = True) -> None:
        """Tell listeners; `outward` events also go to `events`, for the shell to show."""
        if outward:
            self.events.put(event)
        # Scene and watch mode must know when a turn runs (never speak over it).
        if isinstance(event, (ev.TurnStarted, ev.TurnEnded)):
            for stage in (self.stages.scene, self.stages.watch):
                if stage is not None:
                    stage.submit(event)
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - a listener bug must not stop the conductor
                log.exception("event listener failed on %s", type(event).__name__)
                self.events.put(ev.ErrorEvent(
                    stage=StageName.PIPELINE, recoverable=True,
                    message=f"A helper of the window failed on {type(event).__name__} "
                            "(sounds or announcements may be missing); please report it."))

    def _shutdown_stages(self, timeout: float) -> None:
        """All stages are told first and then waited for together, so shutting down takes as
        long as the slowest stage, not the sum of them (`timeout` bounds the whole wait)."""
        self._stopped.set()
        stages = self.stages.all()
        for stage in stages:
            stage.request_stop()
        deadline = time.monotonic() + timeout
        for stage in stages:
            stage.join(max(0.0, deadline - time.monotonic()))

    def _interrupt_stages(self, _gen: int) -> None:
        for stage in self.stages.all():
            stage.interrupt()

    def _handle(self, event: ev.Event) -> None:
        handler = self._HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)
            return
        # Stage output with no routing of its own: pass to the user if current.
        if isinstance(event, ev.Data) and self.generation.is_stale(event.gen):
            return
        self._publish(event)

    # -- commands -----------------------------------------------------------------------------

    def _new_turn(self, mode: Mode) -> _Turn:
        if self._turn is not None and not self._turn.ended:
            self._end_turn(self._turn, cancelled=True)
        gen = self.generation.bump()
        turn = _Turn(id=self._next_turn_id, gen=gen, mode=mode)
        self._next_turn_id += 1
        self._turn = turn
        self._publish(ev.TurnStarted(turn_id=turn.id, mode=mode))
        return turn

    def _tag(self, turn: _Turn) -> dict[str, int]:
        return {"turn_id": turn.id, "gen": turn.gen}

    def _on_press(self, cmd: ev.PushToTalkDown) -> None:
        turn = self._new_turn(self.mode)
        turn.mark("press", cmd.t)
        if self.stages.capture is not None:
            self.stages.capture.submit(ev.BeginUtterance(**self._tag(turn)))
        if self.stages.camera is not None:
            self.stages.camera.submit(ev.BeginBurst(**self._tag(turn)))
        self._status("listening", turn)

    def _on_release(self, cmd: ev.PushToTalkUp) -> None:
        turn = self._turn
        if turn is None or turn.ended or "press" not in turn.marks or "release" in turn.marks:
            return
        turn.mark("release", cmd.t)
        if turn.marks["release"] - turn.marks["press"] < self.options.min_press_s:
            self.generation.bump()  # drop the capture and the burst
            self._on_notice(ev.Notice(turn_id=turn.id, message="Too short: hold the key while you "
                                                             "speak, then let go."))
            self._end_turn(turn, cancelled=True, dropped=True)
            return
        if self.stages.capture is not None:
            self.stages.capture.submit(ev.EndUtterance(**self._tag(turn)))
        else:
            self._transcribed(turn, "", None)
        self._request_frame(turn, ev.EndBurst(**self._tag(turn)))
        self._status("transcribing", turn)

    def _on_ask(self, cmd: ev.Ask) -> None:
        turn = self._new_turn(self.mode if self.mode != Mode.DESCRIBE else Mode.ASK)
        self._request_frame(turn, ev.Snapshot(**self._tag(turn)))
        self._transcribed(turn, cmd.text.strip(), None, t=cmd.t)

    def _on_ask_audio(self, cmd: ev.AskAudio) -> None:
        turn = self._new_turn(self.mode)
        turn.mark("press", cmd.t)
        turn.mark("release", cmd.t)
        self._request_frame(turn, ev.Snapshot(**self._tag(turn)))
        if self.stages.asr is None:
            self._publish(ev.ErrorEvent(stage=StageName.ASR, turn_id=turn.id, needs_action=True,
                                        message="No speech recognizer is configured. Set "
                                                "[asr] engine in the config."))
            self._end_turn(turn)
            return
        self.stages.asr.submit(ev.Utterance(samples=cmd.samples, sample_rate=cmd.sample_rate,
                                            reason="file", **self._tag(turn)))
        self._status("transcribing", turn)

    def _on_describe(self, cmd: ev.Describe) -> None:
        mode = cmd.mode or (self.mode if self.mode != Mode.ASK else Mode.DESCRIBE)
        turn = self._new_turn(mode)
        self._request_frame(turn, ev.Snapshot(**self._tag(turn)))
        self._transcribed(turn, "", None, t=cmd.t)

    def _on_stop(self, cmd: ev.Stop) -> None:
        running = self._turn is not None and not self._turn.ended
        self.generation.bump()
        if running:
            self._end_turn(self._turn, cancelled=True)  # type: ignore[arg-type]
        elif self._watching and self.stages.watch is not None:
            self.stages.watch.submit(cmd)  # a second Esc (or one with no turn) ends a watch
        self._status("idle", None)

    def _on_set_mode(self, cmd: ev.SetMode) -> None:
        self.mode = cmd.mode
        if self.stages.scene is not None:
            self.stages.scene.submit(cmd)
        self._publish(ev.Status(stage=StageName.PIPELINE, state="mode", detail=cmd.mode.value))

    def _on_new_frame(self, cmd: ev.NewFrame) -> None:
        if self.stages.camera is not None:
            self.stages.camera.submit(cmd)
        self._last_turn = None

    def _on_shutdown(self, _cmd: ev.Shutdown) -> None:
        self.generation.bump()
        self._shutdown_stages(2.0)

    def _on_speak(self, cmd: ev.Speak) -> None:
        self._say(cmd.text)

    def _on_notice(self, notice: ev.Notice) -> None:
        self._publish(notice)
        if notice.speak:
            self._say(notice.message)

    def _say(self, text: str) -> None:
        """Speak `text` outside any turn (turn 0): it never ends one; a press silences it."""
        tts = self.stages.tts
        if tts is not None and self.options.speak and text.strip():
            tts.submit(ev.Answer(text=text, source="notice", turn_id=0, gen=self.generation.value))

    def _on_gate(self, cmd: ev.MicGate) -> None:
        if self.stages.capture is not None:
            self.stages.capture.submit(cmd)

    # -- stage output -------------------------------------------------------------------------

    def _current(self, event: ev.Data) -> _Turn | None:
        turn = self._turn
        if turn is None or turn.ended or event.turn_id != turn.id or self.generation.is_stale(event.gen):
            return None
        return turn

    def _request_frame(self, turn: _Turn, request: ev.Data) -> None:
        if self.stages.camera is None:
            turn.frame_resolved = True
            return
        self.stages.camera.submit(request)

    def _on_utterance(self, utt: ev.Utterance) -> None:
        turn = self._current(utt)
        if turn is None:
            return
        if utt.final and "release" not in turn.marks:
            # The cap or a lost device ended the utterance before the key was let go.
            turn.mark("release", utt.t)
            self._request_frame(turn, ev.EndBurst(**self._tag(turn)))
        if utt.final and utt.reason == "cap":
            self._on_notice(ev.Notice(turn_id=turn.id, speak=True,
                                    message="That was the longest question I take; I stopped "
                                            "listening and will answer what I heard."))
        if self.stages.asr is not None:
            self.stages.asr.submit(utt)
        elif utt.final:
            self._transcribed(turn, "", None)

    def _on_transcript(self, tr: ev.Transcript) -> None:
        turn = self._current(tr)
        if turn is None:
            return
        self._publish(tr)
        if tr.partial and not turn.asked and self.stages.answer is not None:
            self.stages.answer.submit(ev.QuestionSoFar(text=tr.text, mode=turn.mode,
                                                       **self._tag(turn)))
        if not tr.partial:
            self._transcribed(turn, tr.text.strip(), tr.language, t=tr.t, rejected=tr.rejected)

    def _transcribed(self, turn: _Turn, text: str, language: str | None, *, t: float | None = None,
                     rejected: str | None = None) -> None:
        turn.mark("final_transcript", t)
        turn.transcript = text
        turn.language = language
        if not text and turn.mode == Mode.ASK:
            why = f" ({rejected})" if rejected else ""
            self._on_notice(ev.Notice(turn_id=turn.id, speak=True,
                                    message=f"I didn't catch a question{why}. Hold the key and "
                                            "speak, then let go."))
            self._end_turn(turn)
            return
        self._maybe_ask(turn)

    def _on_frame(self, frame: ev.Frame) -> None:
        turn = self._current(frame)
        if turn is None:
            return
        turn.mark("frame_chosen", frame.t)
        turn.frame = frame
        turn.frame_resolved = True
        self._publish(frame)
        if self.stages.answer is not None and not turn.asked:
            self.stages.answer.submit(frame)  # prepared while the transcript is being made
        self._maybe_ask(turn)

    def _on_early_frame(self, frame: ev.EarlyFrame) -> None:
        turn = self._current(frame)
        if turn is None or turn.asked or self.stages.answer is None:
            return
        self.stages.answer.submit(frame)  # looked at while the question is spoken

    def _on_idle_frame(self, frame: ev.IdleFrame) -> None:
        if self._turn is not None or self.stages.answer is None:
            return  # a turn's own frames go first; the camera sends the view again later
        self.stages.answer.submit(frame)

    def _on_no_frame(self, nf: ev.NoFrame) -> None:
        turn = self._current(nf)
        if turn is None:
            return
        turn.frame_resolved = True
        self._publish(nf)
        self._maybe_ask(turn)

    def _maybe_ask(self, turn: _Turn) -> None:
        if turn.asked or turn.transcript is None or not turn.frame_resolved:
            return
        turn.asked = True
        if self.stages.answer is None:
            self._publish(ev.ErrorEvent(stage=StageName.ANSWER, turn_id=turn.id, needs_action=True,
                                        message="No answer engine is configured. Set [vlm] "
                                                "backend in the config, or install the offline "
                                                "pack for the local describer."))
            self._end_turn(turn)
            return
        last = self._last_turn
        follow_up = bool(
            last is not None and turn.frame is not None and last.frame is not None
            and turn.frame.captured_at == last.frame.captured_at
            and turn.marks.get("final_transcript", 0) - last.marks.get("done", 0)
            < self.options.follow_up_s)
        self.stages.answer.submit(ev.Question(text=turn.transcript, frame=turn.frame,
                                              mode=turn.mode, language=turn.language,
                                              follow_up=follow_up, watching=self._watching,
                                              **self._tag(turn)))
        self._status("thinking", turn)

    def _on_token(self, token: ev.AnswerToken) -> None:
        turn = self._current(token)
        if turn is None:
            return
        turn.mark("first_token", token.t)
        turn.answer.append(token.text)
        self._publish(token)
        if self._speaking_enabled():
            self.stages.tts.submit(token)  # type: ignore[union-attr]

    def _on_answer(self, answer: ev.Answer) -> None:
        turn = self._current(answer)
        if turn is None:
            return
        turn.answered = True
        if not turn.answer and answer.text:
            turn.mark("first_token", answer.t)
            turn.answer.append(answer.text)
        self._publish(answer)
        if self._speaking_enabled():
            self.stages.tts.submit(answer)  # type: ignore[union-attr]
            self._status("speaking", turn)
        else:
            self._end_turn(turn)

    def _speaking_enabled(self) -> bool:
        return self.options.speak and self.stages.tts is not None

    def _on_speech(self, chunk: ev.SpeechChunk) -> None:
        if chunk.turn_id == 0:  # spoken by Speak: no turn to account for
            if self.stages.playback is not None and not self.generation.is_stale(chunk.gen):
                self._publish(chunk, outward=False)
                self.stages.playback.submit(chunk)
            return
        turn = self._current(chunk)
        if turn is None:
            return
        if chunk.samples.size:
            turn.mark("first_audio_queued", chunk.t)
            if self.options.hands_free and self.stages.capture is not None:
                self.stages.capture.submit(ev.MicGate(open=False))
        if chunk.final:
            turn.spoken = True
        self._publish(chunk, outward=False)
        if self.stages.playback is not None:
            self.stages.playback.submit(chunk)
        elif chunk.final:
            self._end_turn(turn)

    def _on_played(self, started: ev.PlaybackStarted) -> None:
        turn = self._current(started)
        if turn is None:
            return
        turn.mark("first_audio_played", started.played_at)
        self._publish(started, outward=False)

    def _on_playback_done(self, done: ev.PlaybackDone) -> None:
        turn = self._current(done)
        if turn is None:
            return
        self._publish(done, outward=False)
        self._end_turn(turn)

    def _on_watch_for(self, cmd: ev.WatchFor) -> None:
        if self._current(cmd) is None or self.stages.watch is None:
            return
        self._publish(cmd)  # the shell learns that a watch starts (or stops) with this turn
        # Re-tagged with the generation of now: the watch outlives this turn.
        self.stages.watch.submit(ev.WatchFor(kind=cmd.kind, query=cmd.query, t=cmd.t,
                                             turn_id=0, gen=self.generation.value))

    def _on_sighting(self, sighting: ev.Sighting) -> None:
        self._publish(sighting)
        self._on_notice(ev.Notice(message=sighting.message, speak=True))

    def _on_light_level(self, level: ev.LightLevel) -> None:
        self._publish(level, outward=False)  # for the light-level earcon only

    def _on_status(self, status: ev.Status) -> None:
        if status.stage == StageName.WATCH:
            self._watching = status.detail if status.state == "watching" else ""
        self._publish(status)

    def _on_error(self, err: ev.ErrorEvent) -> None:
        self._publish(err)
        turn = self._turn
        if turn is None or turn.ended or not err.turn_id or err.turn_id != turn.id:
            return
        if err.stage == StageName.CAMERA:
            # No picture is not fatal: the question is answered without one.
            turn.frame_resolved = True
            self._maybe_ask(turn)
            return
        # Any other failure inside the running turn ends it, so the user is never left waiting.
        self._end_turn(turn, cancelled=False)

    # -- turn end -----------------------------------------------------------------------------

    def _end_turn(self, turn: _Turn, cancelled: bool = False, dropped: bool = False) -> None:
        """End `turn`. A `dropped` turn (a tap too short to be a question) was never a turn for
        the user: it has no timings and no place in `history`, and its number is used again."""
        if turn.ended:
            return
        turn.ended = True
        turn.mark("done")
        if not dropped:
            metrics = ev.Metrics(turn_id=turn.id, cancelled=cancelled,
                                 **{k: v for k, v in turn.marks.items() if k in ev.Metrics.MARKS})
            self._publish(metrics)
        ended = ev.TurnEnded(turn_id=turn.id, transcript=turn.transcript or "",
                             answer="".join(turn.answer), cancelled=cancelled, dropped=dropped)
        if dropped:
            if self._next_turn_id == turn.id + 1:
                self._next_turn_id = turn.id
        else:
            self._history.append(ended)
        self._publish(ended)
        if self.options.hands_free and self.stages.capture is not None:
            self.stages.capture.submit(ev.MicGate(open=True))
        if not cancelled:
            self._last_turn = turn
        if self._turn is turn:
            self._status("idle", turn)

    def _status(self, state: str, turn: _Turn | None) -> None:
        self._publish(ev.Status(stage=StageName.PIPELINE, state=state,
                                turn_id=turn.id if turn else 0))

    _HANDLERS: dict[type, Callable[["Pipeline", ev.Event], None]] = {
        ev.PushToTalkDown: _on_press,
        ev.PushToTalkUp: _on_release,
        ev.Ask: _on_ask,
        ev.AskAudio: _on_ask_audio,
        ev.Describe: _on_describe,
        ev.Stop: _on_stop,
        ev.SetMode: _on_set_mode,
        ev.NewFrame: _on_new_frame,
        ev.Shutdown: _on_shutdown,
        ev.MicGate: _on_gate,
        ev.Speak: _on_speak,
        ev.Notice: _on_notice,
        ev.Utterance: _on_utterance,
        ev.Transcript: _on_transcript,
        ev.Frame: _on_frame,
        ev.EarlyFrame: _on_early_frame,
        ev.IdleFrame: _on_idle_frame,
        ev.NoFrame: _on_no_frame,
        ev.AnswerToken: _on_token,
        ev.Answer: _on_answer,
        ev.SpeechChunk: _on_speech,
        ev.PlaybackStarted: _on_played,
        ev.PlaybackDone: _on_playback_done,
        ev.ErrorEvent: _on_error,
        ev.WatchFor: _on_watch_for,
        ev.Sighting: _on_sighting,
        ev.LightLevel: _on_light_level,
        ev.Status: _on_status,
    }

