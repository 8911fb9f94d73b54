"""Watch mode inside the pipeline: "tell me when you see my keys" keeps looking at the live
camera, between and after turns, and speaks when it appears.

How a watch runs:
- The answer stage turns "tell me when you see my keys" into `WatchFor(kind="find",
  query="keys")` (and "stop" into `WatchFor(query="")`); the pipeline passes it here.
- Every `1 / fps` seconds the stage looks at the camera's newest frame with the finder
  (`vision.finder.watch.Watch.look`); the finder is built and loaded on the first watch, so a
  session that never watches pays nothing.
- When the thing is seen it puts a `Sighting` on the bus (the pipeline says it, the earcons
  play a rising sound) and the watch ends. Timeout (`finder.watch_timeout_s`): a spoken notice
  says so. Esc (when no turn is running) or "stop" ends it with a notice.
- Light ("tell me when the light goes on"): brightness instead of the finder, a `LightLevel`
  each look (the light-level earcon, its pitch rising with brightness), and the sighting when
  the light is on (or off) in two looks in a row.
- Ending: `WatchFor` ends the running watch quietly (the answer to "stop" or to a new "tell me
  when..." already says so); `Stop` (Esc with no turn running) ends it with a spoken notice.
- While a turn runs the watch pauses: the 2 CPU cores go to the question the user is asking,
  and a sighting never talks over an answer. It resumes when the turn ends; the timeout clock
  keeps running.
- A new press does not end a watch: the stage ignores the generation counter; only `WatchFor`,
  `Stop` and shutdown end it.

`Status(stage=WATCH, state="watching", detail=...)` says what is being watched for ("keys",
"the light to go on") and `state="idle"` when it ends, so the window and the answer stage know.

Threads: the stage thread does everything (commands in the inbox, a look on each poll).
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Iterator

from assistant import events as ev
from assistant.events import StageName
from assistant.ports import Camera
from assistant.stage import Generation, Outbox, Stage
from vision.perception.colour import DARK, LIT, light
from vision.finder.watch import Watch, WatchOptions
from vision.finder.words import with_article

log = logging.getLogger(__name__)


def sighting_words(result: Any) -> str:
    """What to say when the thing appears: "I see keys, at 2 o'clock, close to you."."""
    first = result.sentences()[0]
    if first.startswith("Yes, "):
        first = first[5:]
    return first[:1].upper() + first[1:]


class _LightWatch:
    """Looks at the brightness until the light is on (or off) in two frames in a row."""

    def __init__(self, camera: Any, want: str, options: WatchOptions, clock) -> None:
        self.camera, self.want, self.options, self.clock = camera, want, options, clock
        self.frames = 0
        self.deadline = 0.0
        self._last_key: Any = None
        self._hits = 0
        self.brightness = 0.0

    def begin(self) -> None:
        self.deadline = self.clock() + self.options.timeout_s
        self._last_key, self._hits = None, 0

    @property
    def expired(self) -> bool:
        return self.clock() >= self.deadline

    def look(self) -> tuple[float, float] | None:
        """(captured_at, brightness) when the light is as wanted twice in a row, else None;
        `brightness` holds the last measure."""
        frame = self.camera.latest()
        key = None if frame is None else (frame.captured_at, frame.source)
        if frame is None or key == self._last_key:
            return None
        self._last_key = key
        measure = light(frame.image)
        self.frames += 1
        self.brightness = measure.brightness
        hit = measure.brightness >= LIT if self.want == "on" else measure.brightness < DARK
        self._hits = self._hits + 1 if hit else 0
        return (frame.captured_at, measure.brightness) if self._hits >= 2 else None


class WatchStage(Stage):
    """`make_finder()` builds the finder (not loaded) on the first find watch."""

    name = StageName.WATCH

    def __init__(self, outbox: Outbox, generation: Generation, camera: Camera,
                 make_finder: Callable[[], Any], options: WatchOptions = WatchOptions(),
                 clock: Callable[[], float] = ev.now) -> None:
        super().__init__(outbox, generation)
        self.camera = camera
        self.make_finder = make_finder
        self.options = options
        self.clock = clock
        self.finder: Any = None
        self._watch: Watch | _LightWatch | None = None
        self._what = ""  # what is watched for, in words
        self._paused = False

    @property
    def poll_interval(self) -> float | None:  # type: ignore[override]
        """Frames are looked at only while a watch runs; else the thread sleeps."""
        return 1.0 / self.options.fps if self._watch is not None else None

    # -- commands (stage thread) ------------------------------------------------------------------

    def process(self, item: ev.Event) -> Iterator[ev.Event]:
        if isinstance(item, ev.TurnStarted):
            self._paused = True
        elif isinstance(item, ev.TurnEnded):
            self._paused = False
        elif isinstance(item, ev.Stop):  # Esc with no turn running: say that it stopped
            yield from self._end(None)
        elif isinstance(item, ev.WatchFor):  # the answer stage's answer already says it
            yield from self._end("")
            if item.query:
                yield from self._begin(item)

    def stale(self, item: ev.Event) -> bool:
        return False  # a new press does not end a watch; WatchFor("") and shutdown do

    def _begin(self, item: ev.WatchFor) -> Iterator[ev.Event]:
        if item.kind == "light":
            self._watch = _LightWatch(self.camera, item.query, self.options, self.clock)
            self._what = f"the light to go {item.query}"
        else:
            if self.finder is None:
                yield ev.Status(stage=self.name, state="loading", detail="finder")
                finder = self.make_finder()
                finder.load()  # a failure becomes an ErrorEvent (Stage._drain); no watch starts
                self.finder = finder
            self._watch = Watch(self.finder, self.camera, item.query, self.options,
                                clock=self.clock)
            self._what = item.query
        self._watch.begin()
        yield ev.Status(stage=self.name, state="watching", detail=self._what)

    def _end(self, notice: str | None) -> Iterator[ev.Event]:
        """End the running watch (if any); say `notice`, or "Stopped watching..." when None."""
        if self._watch is None:
            return
        what, self._watch, self._what = self._what, None, ""
        text = notice if notice is not None else f"Stopped watching for {_noun(what)}."
        if text:
            yield ev.Notice(message=text, speak=True)
        yield ev.Status(stage=self.name, state="idle")

    # -- looking (stage thread, every poll) -------------------------------------------------------

    def poll(self) -> Iterator[ev.Event]:
        watch = self._watch
        if watch is None or self._paused:
            return
        if watch.expired:
            minutes = self.options.timeout_s / 60
            span = f"{minutes:g} minutes" if minutes >= 1 else f"{self.options.timeout_s:g} seconds"
            yield from self._end(f"I stopped watching for {_noun(self._what)}: not seen in {span}.")
            return
        if isinstance(watch, _LightWatch):
            seen = watch.look()
            yield ev.LightLevel(brightness=watch.brightness)
            if seen is not None:
                captured_at, brightness = seen
                state = "on" if watch.want == "on" else "off"
                message = (f"The light is {state} now (brightness {round(brightness * 100)}%).")
                yield ev.Sighting(query=self._what, message=message, captured_at=captured_at,
                                  latency_s=self.clock() - captured_at, frames=watch.frames)
                yield from self._end("")
            return
        sighting = watch.look()
        if sighting is not None:
            yield ev.Sighting(query=self._what, message=sighting_words(sighting.result),
                              captured_at=sighting.captured_at, latency_s=sighting.latency_s,
                              frames=sighting.frames)
            yield from self._end("")

    def teardown(self) -> None:
        self._watch = None


def _noun(what: str) -> str:
    return what if what.startswith("the light") else with_article(what)
