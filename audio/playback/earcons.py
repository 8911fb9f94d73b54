"""Earcons: short sounds for listening, processing, done and error, and a soft "still working"
tick during long waits. Blind users rely on them to know what Glimpse is doing without looking.

The sounds are synthesized with numpy (no files to ship or lose): short sine tones with smooth
attack and release so they never click. `python -m audio.playback.earcons OUTDIR` writes them as WAVs to
listen to.

`Earcons.on_event` is a pipeline listener (`Pipeline.add_listener`): it runs on the conductor
thread and only queues sounds, so it never slows the pipeline. Sounds go to the speaker's earcon
lane (`SoundDeviceSpeaker.play_earcon`), mixed over speech and never dropped by a barge-in.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from assistant import events as ev
from assistant.ports import Speaker

if TYPE_CHECKING:
    from assistant.config import EarconsConfig

log = logging.getLogger(__name__)

RATE = 24000
NAMES = ("listening", "processing", "done", "error", "tick", "found")


def _tone(freqs: list[tuple[float, float]], rate: int, gap_s: float = 0.0,
          harmonics: float = 0.25) -> np.ndarray:
    """Sine notes (Hz, seconds) one after another, each with a smooth envelope."""
    parts = []
    for freq, dur in freqs:
        n = int(rate * dur)
        t = np.arange(n) / rate
        note = np.sin(2 * np.pi * freq * t) + harmonics * np.sin(4 * np.pi * freq * t)
        attack = min(n, int(rate * 0.005))
        env = np.exp(-3.0 * t / max(dur, 1e-3))  # a soft decay: bell-like, not a beep
        env[:attack] *= np.linspace(0, 1, attack)
        env[-attack:] *= np.linspace(1, 0, attack)
        parts.append(note * env)
        if gap_s:
            parts.append(np.zeros(int(rate * gap_s)))
    out = np.concatenate(parts)
    return (out / (np.abs(out).max() + 1e-9)).astype(np.float32)


def light_tone(brightness: float, rate: int = RATE) -> np.ndarray:
    """The light-level earcon: a short soft note whose pitch rises with brightness (0..1), two
    octaves from 220 Hz (dark) to 880 Hz (bright), so the light can be followed by ear."""
    level = min(max(float(brightness), 0.0), 1.0)
    return (0.5 * _tone([(220.0 * 4.0 ** level, 0.06)], rate, harmonics=0.1)).astype(np.float32)


def synthesize(name: str, rate: int = RATE) -> np.ndarray:
    """The earcon `name` (one of NAMES) as float32 mono at `rate`, peak 1.0."""
    if name == "listening":  # rising: "I'm listening"
        return _tone([(660, 0.07), (990, 0.09)], rate)
    if name == "processing":  # one soft mid note: "got it, working"
        return _tone([(523, 0.12)], rate, harmonics=0.1)
    if name == "done":  # falling: "finished"
        return _tone([(880, 0.07), (587, 0.11)], rate)
    if name == "error":  # two low notes, a little rough
        return _tone([(233, 0.12), (196, 0.18)], rate, gap_s=0.04, harmonics=0.6)
    if name == "found":  # rising arpeggio: watch mode saw what it was looking for
        return _tone([(523, 0.06), (659, 0.06), (784, 0.06), (1047, 0.14)], rate)
    if name == "tick":  # a very short, quiet click-like note
        return (0.5 * _tone([(1400, 0.025)], rate, harmonics=0.0)).astype(np.float32)
    raise ValueError(f"unknown earcon {name!r}; known: {', '.join(NAMES)}")


class Earcons:
    """Plays earcons on pipeline events, as the `earcons.*` settings allow.

    `play(samples, rate)` is where sounds go (the speaker's earcon lane). Ticks: while the
    pipeline is thinking, one tick every `tick_interval_s`, at most `max_ticks`, stopping at the
    first answer token, the first speech, or the end of the turn. Threads: `on_event` on the
    conductor thread; ticks on a timer thread.
    """

    def __init__(self, settings: "EarconsConfig", play: Callable[[np.ndarray, int], None],
                 tick_interval_s: float = 2.0, max_ticks: int = 10) -> None:
        self.settings = settings
        self._play = play
        self.tick_interval_s = tick_interval_s
        self.max_ticks = max_ticks
        self._sounds = {name: synthesize(name) * float(settings.volume) for name in NAMES}
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._ticks = 0
        self._processing_turn = -1
        self.played: list[str] = []  # names, in order (for the status log and tests)

    def enabled(self, name: str) -> bool:
        if not self.settings.enabled or self.settings.volume <= 0:
            return False
        key = "ticks" if name == "tick" else name
        return bool(getattr(self.settings, key, True))

    def play(self, name: str) -> None:
        if not self.enabled(name):
            return
        self.played.append(name)
        self._play(self._sounds[name], RATE)

    # -- pipeline listener (conductor thread) ---------------------------------------------------

    def on_event(self, event: ev.Event) -> None:
        if isinstance(event, ev.Status) and event.stage == ev.StageName.PIPELINE:
            if event.state == "listening":
                self._stop_ticks()
                self.play("listening")
            elif event.state in ("transcribing", "thinking"):
                if self._processing_turn != event.turn_id:
                    self._processing_turn = event.turn_id
                    self.play("processing")
                if event.state == "thinking":
                    self._start_ticks()
            elif event.state in ("idle", "speaking"):
                self._stop_ticks()
        elif isinstance(event, (ev.AnswerToken, ev.SpeechChunk, ev.PlaybackStarted)):
            self._stop_ticks()
        elif isinstance(event, ev.TurnEnded):
            self._stop_ticks()
            if not event.cancelled and event.answer:
                self.play("done")
        elif isinstance(event, ev.ErrorEvent):
            self._stop_ticks()
            self.play("error")
        elif isinstance(event, ev.Sighting):
            self.play("found")
        elif isinstance(event, ev.LightLevel) and self.enabled("light"):
            self.played.append("light")
            self._play(light_tone(event.brightness) * float(self.settings.volume), RATE)

    # -- ticks ----------------------------------------------------------------------------------

    def _start_ticks(self) -> None:
        with self._lock:
            if self._timer is not None or not self.enabled("tick"):
                return
            self._ticks = 0
            self._schedule()

    def _schedule(self) -> None:
        timer = threading.Timer(self.tick_interval_s, self._tick)
        timer.daemon = True
        timer.name = "glimpse-earcon-tick"
        self._timer = timer
        timer.start()

    def _tick(self) -> None:
        with self._lock:
            if self._timer is None:
                return
            self._ticks += 1
            if self._ticks < self.max_ticks:
                self._schedule()
            else:
                self._timer = None
        self.play("tick")

    def _stop_ticks(self) -> None:
        with self._lock:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()

    def close(self) -> None:
        self._stop_ticks()


def for_speaker(speaker: Speaker, settings: "EarconsConfig") -> Earcons | None:
    """Earcons through `speaker`'s earcon lane, or None if it has none (or they are off)."""
    if not speaker.earcon_lane or not settings.enabled:
        return None
    return Earcons(settings, speaker.play_earcon)


def write_wavs(folder: str | Path) -> list[Path]:
    """Write every earcon as a WAV file into `folder` (to listen to them, or to ship them)."""
    import soundfile as sf

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in NAMES:
        path = out / f"{name}.wav"
        sf.write(str(path), synthesize(name), RATE, subtype="PCM_16")
        paths.append(path)
    return paths


if __name__ == "__main__":
    import sys

    for written in write_wavs(sys.argv[1] if len(sys.argv) > 1 else "earcons"):
        print(written)
