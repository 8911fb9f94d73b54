"""The one object between the window and the core.

`Bridge` owns the pipeline. It builds it (with `pipeline_factory(config)`, by default
`ui.bootstrap.bootstrap`) on a worker thread of its own pool, starts it there, and then
drains `pipeline.events` on the GUI thread (at most `batch` events at a time), re-emitting each
event as a typed Qt signal. A drain runs when the pipeline publishes something (a listener on the
conductor thread posts one queued wake-up, however many events follow before it runs) and, as a
fallback, every `poll_ms`: an idle window does not wake 66 times a second to find nothing. Widgets only connect to signals and call
`submit(command)`; they never start threads and never call the pipeline.

Once every stage has finished its setup (models loaded, devices opened, or failed), the build
job puts `Status(pipeline, "set-up")` on the pipeline's bus, behind any error a setup reported:
the window says "Ready" only after it (`ui.window.status_line.SET_UP`).

The user may choose to go without a part for this session (no speaker: `go_without("speech
output")`); every later build leaves it out, until `retry()` tries every part again or a
settings change concerns that part (another speaker chosen, say).

Threads: everything here runs on the GUI thread except `submit` (any thread: it only puts the
command on the pipeline's bus) and the bodies run by `run_task` / the build and stop jobs, which
run on the bridge's QThreadPool and talk back only through signals (queued to the GUI thread).
"""
from __future__ import annotations

import logging
import queue
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, QTimer, Signal

from assistant import events as ev
from assistant.config import Config
from assistant.errors import GlimpseError, describe_exception
from assistant.history import HistoryError, HistoryRecorder, HistoryStore, TurnRecord, open_store
from ui.window.status_line import SET_UP

log = logging.getLogger(__name__)

#: factory(config) -> Pipeline, or (Pipeline, [problems]) when some parts were left out;
#: called as factory(config, parts=Parts(...)) when the user chose to go without a part
PipelineFactory = Callable[..., Any]
#: fn(on_progress(done, total), cancel) -> result; runs on a worker thread.
TaskBody = Callable[[Callable[[int, int], None], threading.Event], Any]

PREVIEW_MIN_INTERVAL_S = 1.0 / 30  # the preview never repaints faster than 30 fps
PROGRESS_MIN_INTERVAL_S = 0.05  # download progress reaches the GUI at most 20 times a second
SET_UP_POLL_S = 0.05  # how often the build job looks whether its pipeline was retired
#: settings that concern a part the user went without: changing one tries the part again
PART_SETTINGS = {"speech output": ("audio.output_device", "tts.engine", "tts.voice"),
                 "microphone and speech recognition": ("audio.input_device",),
                 "camera": ("camera.source",)}

# Two threads importing torch for the first time at once break it ("operator prims::zeta does
# not exist"): the pipeline's build and a background task (the first-run guide's GPU check,
# the missing-model check) both may. The first import happens under this lock.
_IMPORT_LOCK = threading.Lock()


def import_torch_once() -> None:
    """Import torch (when installed) under a lock, so no two threads import it together."""
    if "torch" in sys.modules and hasattr(sys.modules["torch"], "Tensor"):
        return
    with _IMPORT_LOCK:
        try:
            import torch  # noqa: F401
        except ImportError:
            pass  # the parts that need it say so when they are built


def default_factory(config: Config, bootstrap_fn: Callable[..., Any] | None = None,
                    parts: Any = None) -> tuple[Any, list[str]]:
    """The shell's policy (`ui.bootstrap.build_reduced`): the whole pipeline (or the `parts`
    asked for), or the largest part of it that can be built, with the problems that left parts
    out."""
    from ui.bootstrap import Parts, build_reduced

    return build_reduced(config, bootstrap_fn, parts=parts or Parts())


class _Job(QRunnable):
    def __init__(self, body: Callable[[], None]) -> None:
        super().__init__()
        self._body = body
        self.setAutoDelete(True)

    def run(self) -> None:  # worker thread
        self._body()


class Bridge(QObject):
    # pipeline events, re-emitted on the GUI thread
    transcript = Signal(int, str, bool)  # turn_id, text, partial
    token = Signal(int, str)  # turn_id, text
    answer = Signal(int, str, str)  # turn_id, text, source
    frame = Signal(object)  # ev.Frame: the frozen frame of the turn
    no_frame = Signal(int, str)  # turn_id, reason
    preview = Signal(object)  # ev.Preview, at most 30 per second
    level = Signal(float, float)  # rms, peak in [0, 1]
    status = Signal(str, str, str)  # stage, state, detail
    error = Signal(str, str, bool)  # stage, message, needs_action
    metrics = Signal(object)  # ev.Metrics
    notice = Signal(str, bool)  # message, speak
    turn_started = Signal(int, str)  # turn_id, mode
    turn_ended = Signal(int, str, str, bool)  # turn_id, transcript, answer, cancelled
    turn_dropped = Signal(int)  # turn_id: a too-short tap; the turn is to be forgotten
    # the bridge's own state: "starting", "running", "failed", "stopped"; detail says why
    state_changed = Signal(str, str)
    config_changed = Signal(object)  # the new Config, after `reconfigure`
    shortcut_note = Signal(str)  # the global shortcut's state, emitted from its own thread
    # background tasks (downloads, verification): id, done, total (-1 unknown)
    task_progress = Signal(str, int, int)
    task_finished = Signal(str, object, str)  # id, result, error message ("" when it worked)

    # internal: worker -> GUI thread
    _built = Signal(int, object, str, bool)  # build id, pipeline or None, error, needs_action
    _events_ready = Signal()  # posted from other threads: something waits in the pipeline

    def __init__(self, config: Config, pipeline_factory: PipelineFactory | None = None, *,
                 poll_ms: int = 250, batch: int = 200, parent: QObject | None = None,
                 history_dir: Path | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self.factory = pipeline_factory or default_factory
        self.pipeline: Any = None
        self.state = "stopped"
        self.last_error = ""
        self.batch = batch
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(4)
        self._build_id = 0
        self._last_preview = 0.0
        self._tasks: dict[str, threading.Event] = {}
        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self.drain)
        self._nudged = threading.Event()  # a wake-up is posted and has not run yet
        # Queued even on the GUI thread: a drain never runs inside the code that raised the
        # notice (during __init__ the window has not connected to `notice` yet).
        self._events_ready.connect(self.drain, Qt.ConnectionType.QueuedConnection)
        self._built.connect(self._on_built)
        # Workers only record progress; this timer carries the newest figures to the GUI, so a
        # fast download never floods the event loop and a stalled one still shows its last bytes.
        self._progress: dict[str, tuple[int, int]] = {}
        self._progress_lock = threading.Lock()
        self._progress_timer = QTimer(self)
        self._progress_timer.setInterval(int(PROGRESS_MIN_INTERVAL_S * 1000))
        self._progress_timer.timeout.connect(self._flush_progress)
        self.task_finished.connect(self._forget_task)
        # History: every finished turn is saved as it ends (assistant.history). Its notices come
        # from the writer thread through this queue, drained with the pipeline's events.
        self.history_dir = history_dir
        self.history: HistoryStore | None = None
        self.recorder: HistoryRecorder | None = None
        self._side_notices: queue.Queue[str] = queue.Queue()
        # The highest turn number the user has seen: a rebuilt pipeline continues after it, so
        # a turn never takes the place of an earlier one.
        self._last_turn_id = 0
        self.without: set[str] = set()  # parts the user chose to go without (OPTIONAL_GROUPS)
        self._retired = threading.Event()  # set when the current build's pipeline is replaced
        self._open_history(config)

    # -- lifecycle (GUI thread) -----------------------------------------------------------------

    def start(self) -> None:
        """Build and start the pipeline on a worker; returns at once. `state_changed` follows."""
        self._build_id += 1
        build_id, config = self._build_id, self.config
        self._open_history(config)
        recorder = self.recorder if config.history.enabled else None
        first_turn = self._last_turn_id + 1
        retired = self._retired = threading.Event()
        without = set(self.without)
        self._set_state("starting", "Starting Glimpse: loading devices and models...")

        def body() -> None:
            try:
                import_torch_once()
                if without:
                    from dataclasses import replace

                    from ui.bootstrap import OPTIONAL_GROUPS, Parts

                    off = {part: False for group, parts in OPTIONAL_GROUPS if group in without
                           for part in parts}
                    built = self.factory(config, parts=replace(Parts(), **off))
                else:
                    built = self.factory(config)
                pipeline, problems = built if isinstance(built, tuple) else (built, [])
                pipeline.continue_turns(first_turn)
                pipeline.add_listener(self._nudge)
                if recorder is not None:
                    pipeline.add_listener(recorder.on_event)
                pipeline.start()
            except GlimpseError as exc:
                self._built.emit(build_id, None, exc.message, exc.needs_action)
                return
            except Exception as exc:  # noqa: BLE001 - shown to the user, with a hint
                log.exception("building the pipeline failed")
                message, needs_action = describe_exception(exc)
                self._built.emit(build_id, None, message, needs_action)
                return
            self._built.emit(build_id, pipeline, "\n".join(problems), False)
            self._mark_set_up(pipeline, retired)

        self.pool.start(_Job(body))

    @staticmethod
    def _mark_set_up(pipeline: Any, retired: threading.Event) -> None:
        """Worker: wait until every stage finished its setup, then put the mark on the
        pipeline's bus, behind the errors the setups reported (the bus keeps their order).
        Gives up when the pipeline is retired or the window closes."""
        for stage in pipeline.stages.all():
            while not stage.ready.wait(SET_UP_POLL_S):
                if retired.is_set():
                    return
        if not retired.is_set():
            pipeline.submit(ev.Status(stage=ev.StageName.PIPELINE, state=SET_UP))

    def reconfigure(self, config: Config) -> None:
        """Apply a new config: stop the running pipeline (on a worker) and build a new one.
        A part the user went without is tried again when a setting of that part changed."""
        for group, keys in PART_SETTINGS.items():
            if any(config.get(k) != self.config.get(k) for k in keys):
                self.without.discard(group)
        self.config = config
        self.config_changed.emit(config)
        while self.drain() >= self.batch:  # what already happened reaches the window first
            pass
        self._retired.set()  # the old build's job stops waiting for its setup
        self._retire(self.pipeline)
        self.pipeline = None
        self.start()

    def retry(self) -> None:
        """Try again with the current config and every part (after the user fixed what was
        missing)."""
        self.without.clear()
        self.reconfigure(self.config)

    def go_without(self, group: str) -> None:
        """Rebuild without a part (an OPTIONAL_GROUPS name) for the rest of this session."""
        self.without.add(group)
        self.reconfigure(self.config)

    def shutdown(self, timeout: float = 10.0, quick: bool = False) -> None:
        """Stop everything. Called once when the window closes; may wait up to `timeout`.

        `quick` (the process ends right after, `ui.cli.gui`): the stages get 0.15 s to stop
        (an idle one stops in milliseconds; one busy loading a model cannot stop and is left),
        running jobs are not waited for; history still commits every turn it was given."""
        self._build_id += 1  # a build still running is stopped as soon as it arrives
        self._retired.set()
        self._timer.stop()
        for cancel in self._tasks.values():
            cancel.set()
        pipeline, self.pipeline = self.pipeline, None
        if pipeline is not None:
            pipeline.stop(timeout=0.15 if quick else 1.0)
        self.pool.waitForDone(0 if quick else int(timeout * 1000))
        if self.recorder is not None:
            self.recorder.close()
        if self.history is not None:
            self.history.close()
        self._set_state("stopped", "")

    # -- history (GUI thread) -------------------------------------------------------------------

    def _open_history(self, config: Config) -> None:
        if self.history is not None or self.history_dir is None or not config.history.enabled:
            return
        self.history = open_store(self.history_dir, True, config.history.keep_days,
                                  self._side_notice)
        if self.history.available:
            self._last_turn_id = max(self._last_turn_id, self._saved_last_turn())
        if self.history.available and not self.history.read_only:
            self.recorder = HistoryRecorder(self.history, self._side_notice)

    def _saved_last_turn(self) -> int:
        try:
            return self.history.last_turn_id() if self.history is not None else 0
        except HistoryError as exc:
            self._side_notice(f"History could not be read ({exc}).")
            return 0

    def previous_turns(self) -> list[TurnRecord]:
        """The turns of the previous session (empty when history is off or unreadable)."""
        if self.history is None or not self.history.available:
            return []
        try:
            return self.history.previous_session(
                exclude=self.recorder.session if self.recorder else "")
        except HistoryError as exc:
            self._side_notice(f"The previous session could not be shown ({exc}).")
            return []

    def clear_history(self) -> str:
        """Delete every saved turn (files included). Returns "" or what went wrong."""
        if self.history is None or not self.history.available:
            return ""
        if self.recorder is not None:
            self.recorder.wait_idle()
        try:
            self.history.clear()
        except HistoryError as exc:
            return f"History could not be cleared: {exc}"
        return ""

    def _retire(self, pipeline: Any) -> None:
        if pipeline is None:
            return
        self.pool.start(_Job(lambda: pipeline.stop(timeout=2.0)))

    def _on_built(self, build_id: int, pipeline: Any, message: str, _needs_action: bool) -> None:
        if build_id != self._build_id:  # a newer build was asked for meanwhile
            self._retire(pipeline)
            return
        if pipeline is None:
            self.last_error = message
            self._set_state("failed", message)
            # Glimpse cannot work until this is fixed: always a dialog, whatever the error says.
            self.error.emit("pipeline", message, True)
            return
        self.pipeline = pipeline
        self.last_error = ""
        self._timer.start()
        self._nudge()  # what it published while it was being built
        self._set_state("running", "Ready.")
        if message:  # built without some parts: say which, and how to get them back
            self._report_left_out(pipeline, message)

    def _report_left_out(self, pipeline: Any, message: str) -> None:
        """A part that could not be built is reported as its stage's error (a device's is then
        the window's device state, not a dialog); anything else as the pipeline's problem."""
        stages = getattr(pipeline, "stages", None)
        config, without = self.config, self.without
        left = [] if stages is None else [stage for stage, gone in (
            ("capture", stages.capture is None
             and "microphone and speech recognition" not in without),
            ("playback", stages.playback is None and config.tts.engine != "none"
             and "speech output" not in without),
            ("camera", stages.camera is None and bool(config.camera.source)
             and "camera" not in without),
            ("answer", stages.answer is None)) if gone]
        for stage in left:
            self.error.emit(stage, message, True)
        if not left:
            self.error.emit("pipeline", message, True)

    def _set_state(self, state: str, detail: str) -> None:
        self.state = state
        self.state_changed.emit(state, detail)

    # -- commands (any thread) ------------------------------------------------------------------

    def submit(self, command: ev.Command) -> bool:
        """Send a command to the pipeline. Returns False (and says so) when none is running."""
        pipeline = self.pipeline
        if pipeline is None:
            return False
        pipeline.submit(command)
        return True

    def speak(self, text: str) -> bool:
        """Say `text` in Glimpse's own voice (errors, notices, "ready"). The speech stage
        queues it behind its model loading; the next press silences it like any speech."""
        if not self.config.ui.speak_answers:
            return False
        return self.submit(ev.Speak(text=text))

    def say_ready(self, text: str = "Ready.") -> bool:
        """Speak `text` once at start-up, so Glimpse can be used without looking."""
        return self.speak(text)

    # -- event pump (GUI thread) ----------------------------------------------------------------

    def _side_notice(self, text: str) -> None:
        """A notice from outside the pipeline (the history writer's thread, say)."""
        self._side_notices.put(text)
        self._nudge()

    def _nudge(self, event: ev.Event | None = None) -> None:
        """Post one drain to the GUI thread (any thread; returns at once). Further events before
        it runs ride on the same wake-up. Speech chunks never reach `events`: no wake-up."""
        if self._nudged.is_set() or isinstance(event, ev.SpeechChunk):
            return
        self._nudged.set()
        try:
            self._events_ready.emit()
        except RuntimeError:  # the window is gone (shutting down): nothing left to show
            log.debug("bridge gone; wake-up dropped")

    def drain(self) -> int:
        """Move up to `batch` events from the pipeline to signals. Returns how many were read.

        Previews and levels are coalesced: only the newest of each per tick is shown, so a slow
        paint never builds a backlog.
        """
        self._nudged.clear()  # events put from now on post a new wake-up
        while True:
            try:
                self.notice.emit(self._side_notices.get_nowait(), False)
            except queue.Empty:
                break
        pipeline = self.pipeline
        if pipeline is None:
            return 0
        latest_preview: ev.Preview | None = None
        latest_level: ev.Level | None = None
        count = 0
        while count < self.batch:
            try:
                event = pipeline.events.get_nowait()
            except queue.Empty:
                break
            count += 1
            if isinstance(event, ev.Preview):
                latest_preview = event
            elif isinstance(event, ev.Level):
                latest_level = event
            else:
                self._dispatch(event)
        if latest_level is not None:
            self.level.emit(float(latest_level.rms), float(latest_level.peak))
        if latest_preview is not None:
            t = time.monotonic()
            if t - self._last_preview >= PREVIEW_MIN_INTERVAL_S:
                self._last_preview = t
                self.preview.emit(latest_preview)
        if count >= self.batch:
            self._nudge()  # more is waiting: the rest after the window's own events
        return count

    def _dispatch(self, event: ev.Event) -> None:
        if isinstance(event, ev.Transcript):
            text = event.text
            self.transcript.emit(event.turn_id, text, bool(event.partial))
        elif isinstance(event, ev.AnswerToken):
            self.token.emit(event.turn_id, event.text)
        elif isinstance(event, ev.Answer):
            self.answer.emit(event.turn_id, event.text, event.source)
        elif isinstance(event, ev.Frame):
            self.frame.emit(event)
        elif isinstance(event, ev.NoFrame):
            self.no_frame.emit(event.turn_id, event.reason)
        elif isinstance(event, ev.Status):
            self.status.emit(event.stage.value, event.state, event.detail)
        elif isinstance(event, ev.ErrorEvent):
            self.error.emit(event.stage.value, event.message, bool(event.needs_action))
        elif isinstance(event, ev.Metrics):
            self.metrics.emit(event)
        elif isinstance(event, ev.Notice):
            self.notice.emit(event.message, bool(event.speak))
        elif isinstance(event, ev.TurnStarted):
            self._last_turn_id = max(self._last_turn_id, event.turn_id)
            self.turn_started.emit(event.turn_id, event.mode.value)
        elif isinstance(event, ev.TurnEnded) and event.dropped:
            # The pipeline numbers the next turn with this one's number again.
            if self._last_turn_id == event.turn_id:
                self._last_turn_id -= 1
            self.turn_dropped.emit(event.turn_id)
        elif isinstance(event, ev.TurnEnded):
            self.turn_ended.emit(event.turn_id, event.transcript, event.answer,
                                 bool(event.cancelled))
        # SpeechChunk, PlaybackStarted...: nothing to show.

    # -- background tasks -----------------------------------------------------------------------

    def run_task(self, task_id: str, body: TaskBody) -> threading.Event:
        """Run `body(on_progress, cancel)` on the bridge's pool; returns the cancel event.

        Progress arrives as `task_progress(id, done, total)` (the newest figures, every 50 ms),
        the end as
        `task_finished(id, result, error)`; a cancelled task finishes with error "cancelled".
        """
        cancel = threading.Event()
        self._tasks[task_id] = cancel

        def on_progress(done: int, total: int | None) -> None:  # worker thread: no signal here
            with self._progress_lock:
                self._progress[task_id] = (int(done), int(total or -1))

        def body_job() -> None:
            try:
                import_torch_once()  # a task that imports it never races the pipeline's build
                result = body(on_progress, cancel)
            except Exception as exc:  # noqa: BLE001 - reported through task_finished
                if cancel.is_set():
                    self.task_finished.emit(task_id, None, "cancelled")
                else:
                    log.debug("task %s failed", task_id, exc_info=True)
                    self.task_finished.emit(task_id, None, describe_exception(exc)[0])
                return
            self.task_finished.emit(task_id, result, "cancelled" if cancel.is_set() else "")

        self._progress_timer.start()
        self.pool.start(_Job(body_job))
        return cancel

    def cancel_task(self, task_id: str) -> None:
        cancel = self._tasks.get(task_id)
        if cancel is not None:
            cancel.set()

    def _forget_task(self, task_id: str, _result: object, _error: str) -> None:
        self._flush_progress()  # the last figures arrive before the end
        self._tasks.pop(task_id, None)
        if not self._tasks:
            self._progress_timer.stop()

    def _flush_progress(self) -> None:
        """GUI thread: emit the newest progress of each task (at most every 50 ms)."""
        with self._progress_lock:
            latest, self._progress = self._progress, {}
        for task_id, (done, total) in latest.items():
            self.task_progress.emit(task_id, done, total)
