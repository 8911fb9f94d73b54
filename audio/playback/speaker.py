"""Playback through PortAudio (sounddevice): the real `Speaker` adapter.

One callback-based `OutputStream` runs at the device's own rate with 10 ms blocks. `clear()`
(barge-in) empties the queue, so the next block is silent, and aborts the stream to drop what is
already in the device buffer, then restarts it: silence comes at once, whatever the latency.
That lets the buffer be generous (60 ms): on a busy 2-core machine, where the answer model and
Piper take every core while speech plays, a 20 ms buffer underran and crackled. Input chunks are
resampled with soxr at `enqueue` (on the caller's thread, never in the callback).

Earcons are mixed into the same stream on a separate lane (`play_earcon`) that `clear()` leaves
alone, so a barge-in never eats the "listening" sound and earcons never delay speech.

Rest when idle: a running stream calls back 100 times a second even in silence (measured:
about 1.3 % of a core, a quarter of the idle budget). After `idle_sleep_s` with nothing to play
the callback stops the stream; `wake()` starts it again (under a millisecond on PulseAudio).
The pipeline wakes it when a question starts and again at the release, before any answer
exists; `enqueue` and `play_earcon` wake it too.

Starting from silence: a running stream keeps its buffer (up to `latency`) full of silence,
so a chunk queued then would wait behind it. When a chunk arrives while nothing sounds, the stream
is aborted (the buffered silence is dropped) and started again with the chunk queued, so its
first sample is the first the device plays (the stream also asks PortAudio to prime its buffer
from the callback, where the host supports that). The stream asleep starts the same way. On
PulseAudio the host still reports the first block's DAC time a whole buffer (about 60 ms) ahead,
while the speaker's monitor hears it within about 10 ms: `on_start` errs late there.

Times: `on_start(t)` gets the monotonic time the chunk's first sample reaches the DAC, from
PortAudio's `outputBufferDacTime` translated to `time.monotonic()`; where the host API reports
no DAC time, the callback time plus the stream's output latency is used.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import numpy as np

from assistant.errors import DeviceError
from assistant.ports import Speaker

if TYPE_CHECKING:
    from assistant.config import Config

log = logging.getLogger(__name__)


def _sounddevice():
    """Import sounddevice, turning a missing PortAudio into a clear DeviceError."""
    try:
        import sounddevice as sd
    except OSError as exc:  # the PortAudio library itself is missing
        raise DeviceError(f"The audio library PortAudio could not be loaded ({exc})",
                          "Install it (apt install libportaudio2)", needs_action=True) from exc
    return sd


def list_output_devices() -> list[dict]:
    """Output devices PortAudio sees: [{index, name, hostapi, channels, default_samplerate,
    default}], the default output first. Empty when there is no audio system at all."""
    sd = _sounddevice()
    try:
        devices = sd.query_devices()
        default_out = sd.default.device[1]
        hostapis = sd.query_hostapis()
    except sd.PortAudioError as exc:
        log.debug("no audio devices: %s", exc)
        return []
    out = []
    for index, dev in enumerate(devices):
        if dev["max_output_channels"] <= 0:
            continue
        out.append({"index": index, "name": dev["name"],
                    "hostapi": hostapis[dev["hostapi"]]["name"],
                    "channels": dev["max_output_channels"],
                    "default_samplerate": dev["default_samplerate"],
                    "default": index == default_out})
    out.sort(key=lambda d: not d["default"])
    return out


def _device_list_text(devices: list[dict]) -> str:
    if not devices:
        return ("No output devices were found: check that a speaker or headphones are connected "
                "and an audio server (PulseAudio or PipeWire) is running")
    names = ", ".join(f"{d['index']}: {d['name']}" for d in devices)
    return f"Set audio.output_device to one of: {names}"


def find_output_device(wanted: str) -> int | None:
    """The index of the output device named `wanted` (an index, or part of a name, any case);
    None for the system default. Raises DeviceError listing the devices when none matches."""
    devices = list_output_devices()
    if not devices:
        raise DeviceError("No speaker or headphones were found", _device_list_text(devices),
                          needs_action=True)
    wanted = (wanted or "").strip()
    if not wanted:
        return None
    if wanted.isdigit():
        index = int(wanted)
        if any(d["index"] == index for d in devices):
            return index
    else:
        exact = [d for d in devices if d["name"].lower() == wanted.lower()]
        partial = [d for d in devices if wanted.lower() in d["name"].lower()]
        if exact or partial:
            return (exact or partial)[0]["index"]
    raise DeviceError(f"The speaker '{wanted}' was not found", _device_list_text(devices),
                      needs_action=True)


@dataclass
class _Chunk:
    samples: np.ndarray  # at the device rate
    tag: int
    on_start: Callable[[float], None] | None = None
    pos: int = 0
    queued_at: float = field(default_factory=time.monotonic)


class SoundDeviceSpeaker(Speaker):
    """The `Speaker` port on a PortAudio output stream.

    Threads: `open`/`close` from the playback stage thread; `enqueue`, `clear`, `pending`,
    `play_earcon` from any thread; the PortAudio callback runs on the audio thread and only
    copies arrays under a short lock.
    """

    earcon_lane = True  # `play_earcon` mixes over speech; `clear()` leaves it alone

    def __init__(self, device: str = "", blocksize_ms: float = 10.0,
                 latency: str | float = 0.06, hard_cut: bool = True,
                 idle_sleep_s: float = 2.0) -> None:
        self.device_name = device
        self.idle_sleep_s = idle_sleep_s  # 0: never sleep
        self.hard_cut = hard_cut
        self.blocksize_ms = blocksize_ms
        self.latency = latency
        self.rate = 0  # the device rate, known after open()
        self.device_index: int | None = None
        self.output_latency = 0.0  # seconds, as the stream reports it
        self.underruns = 0
        # Underruns between two blocks that both held sound: a gap the listener can hear (one
        # before, after or between silent blocks inserts silence into silence).
        self.underruns_in_sound = 0
        self._wrote_sound = False  # the last block held speech or an earcon
        self.last_cut_ms = 0.0  # how long the last hard cut (abort + restart) took
        self._stream = None
        self._lock = threading.Lock()
        self._queue: deque[_Chunk] = deque()
        self._earcons: deque[list] = deque()  # [samples, pos]
        self._queued_samples = 0
        self._last_sound_dac = 0.0  # monotonic time the last speech sample leaves the DAC
        self._cleared_at: float | None = None
        self.silenced_at: float | None = None  # DAC time of the first silent block after clear()
        self._callbacks: list[tuple[Callable[[float], None], float]] = []
        self._last_callback = 0.0  # monotonic time of the audio thread's last call
        self._asleep = False  # the callback stopped the stream after idle_sleep_s of silence
        self._idle_since: float | None = None
        self._wake_lock = threading.Lock()
        self._callback_stop: type[Exception] = Exception
        self.sleeps = 0  # how often the stream went to sleep
        self.quick_start = True  # restart a silent stream so speech skips the buffered silence
        self.quick_starts = 0
        self.last_wake_ms = 0.0  # how long the last restart took

    # -- lifecycle ------------------------------------------------------------------------------

    def open(self) -> None:
        if self._stream is not None:
            return
        sd = _sounddevice()
        self.device_index = find_output_device(self.device_name)
        try:
            info = sd.query_devices(self.device_index, "output")
            self.rate = int(info["default_samplerate"]) or 48000
            stream = sd.OutputStream(
                samplerate=self.rate, channels=1, dtype="float32", device=self.device_index,
                blocksize=max(32, int(self.rate * self.blocksize_ms / 1000)),
                latency=self.latency, callback=self._callback,
                prime_output_buffers_using_stream_callback=True)
            stream.start()
        except sd.PortAudioError as exc:
            raise DeviceError(f"The speaker could not be opened ({exc})",
                              _device_list_text(list_output_devices()),
                              needs_action=True) from exc
        self._stream = stream
        self._callback_stop = sd.CallbackStop
        self._asleep = False
        self._idle_since = None
        self.output_latency = float(stream.latency)
        self._last_callback = time.monotonic()

    @property
    def asleep(self) -> bool:
        return self._stream is not None and self._asleep

    def wake(self) -> None:
        """Start the stream again after an idle sleep: `enqueue` and `play_earcon` do, and the
        pipeline does when a question starts, so the first answer finds the device awake."""
        with self._wake_lock:
            stream = self._stream
            if stream is None or not self._asleep:
                return
            # after the callback's stop PortAudio wants a stop before a start
            self.last_wake_ms = self._restart(stream, stream.stop)

    def _restart(self, stream, halt: Callable[[], None], chunk: "_Chunk | None" = None) -> float:
        """Halt the stream (`stream.stop` after an idle sleep, `stream.abort` to drop buffered
        silence), queue `chunk` while it is halted, so no callback has taken a part of it, and
        start it again; returns the ms it took. The caller holds `_wake_lock`. A failed halt is
        logged (the chunk then plays after what the device still holds); a failed start is a
        DeviceError."""
        sd = _sounddevice()
        t0 = time.monotonic()
        try:
            halt()
        except Exception as exc:  # noqa: BLE001 - the start below still tells if the device is gone
            log.warning("could not halt the speaker before restarting it (%s)", exc)
        with self._lock:
            if chunk is not None:
                self._queue.append(chunk)
                self._queued_samples += chunk.samples.size
            # reset before the start: its first callbacks must not find the old idle clock
            self._idle_since = None
            self._last_callback = time.monotonic()
            self._asleep = False
        try:
            if not stream.active:
                stream.start()
        except sd.PortAudioError as exc:
            with self._lock:
                self._asleep = True  # still stopped; stalled() must not count it as a stall
            raise DeviceError(f"The speaker could not be started again ({exc})",
                              _device_list_text(list_output_devices()),
                              needs_action=True) from exc
        return (time.monotonic() - t0) * 1000

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.abort()  # no need to drain: close means stop now
            stream.close()
        with self._lock:
            self._queue.clear()
            self._earcons.clear()
            self._queued_samples = 0

    @property
    def is_open(self) -> bool:
        return self._stream is not None

    # -- the port -------------------------------------------------------------------------------

    def _to_device(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        samples = np.asarray(samples, np.float32).reshape(-1)
        if sample_rate != self.rate and samples.size:
            import soxr

            samples = soxr.resample(samples, sample_rate, self.rate, quality="HQ")
        return np.ascontiguousarray(samples, np.float32)

    def enqueue(self, samples: np.ndarray, sample_rate: int, tag: int,
                on_start: Callable[[float], None] | None = None) -> None:
        if self._stream is None:
            self.open()
        data = self._to_device(samples, sample_rate)
        if not data.size:
            return
        chunk = _Chunk(data, tag, on_start)
        with self._lock:
            silent = (not self._queue and not self._earcons
                      and self._last_sound_dac <= time.monotonic())
            if not (silent and self.quick_start and not self._asleep):
                self._queue.append(chunk)
                self._queued_samples += data.size
                chunk = None
        if chunk is not None:
            self._start_quick(chunk)
        elif self._asleep:  # checked after the append: the callback sleeps only on an empty queue
            self.wake()

    def _start_quick(self, chunk: "_Chunk") -> None:
        """Drop the silence in the device buffer and start again with `chunk` at its head (see
        the module docstring)."""
        with self._wake_lock:
            stream = self._stream
            self._restart(stream, stream.abort, chunk)
            self.quick_starts += 1

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self._queued_samples = 0
            self._cleared_at = time.monotonic()
            self.silenced_at = self._cleared_at if self._asleep else None  # silent already
            sounding = self._last_sound_dac > self._cleared_at
        stream = self._stream
        if sounding and stream is not None and self.hard_cut:
            # Speech is still in the device buffer (up to `latency` seconds of it): abort drops
            # that buffer at once instead of letting it play out; then restart for what comes.
            t0 = time.monotonic()
            try:
                stream.abort()
                cut_at = time.monotonic()
                stream.start()
            except Exception as exc:  # noqa: BLE001 - the queue is empty already; say so
                log.warning("could not cut the speaker's buffer (%s); it plays out", exc)
            else:
                with self._lock:
                    self._last_sound_dac = 0.0
                    self.silenced_at = cut_at
                self.last_cut_ms = (time.monotonic() - t0) * 1000

    def clear_before(self, tag: int) -> None:
        """Drop queued chunks tagged older than `tag` (the current generation)."""
        with self._lock:
            kept = deque(c for c in self._queue if c.tag >= tag)
            self._queued_samples = sum(c.samples.size - c.pos for c in kept)
            self._queue = kept

    def pending(self) -> float:
        """Seconds of speech not yet heard: queued samples plus what is in the device buffer."""
        with self._lock:
            queued = self._queued_samples / self.rate if self.rate else 0.0
            in_device = max(0.0, self._last_sound_dac - time.monotonic())
        return queued + in_device

    def stalled(self) -> float:
        """Seconds the device has stopped asking for audio while speech is waiting (0.0 when
        it plays). A device that went away (its sink unloaded, the server gone) leaves the
        stream open but never calls back; the playback stage turns a long stall into an error.
        """
        if self._stream is None or self._asleep:
            return 0.0
        with self._lock:
            waiting = self._queued_samples > 0
        quiet = time.monotonic() - self._last_callback
        # A healthy stream calls back every block; allow for the device buffer and scheduling.
        return quiet if waiting and quiet > self.output_latency + 0.1 else 0.0

    def play_earcon(self, samples: np.ndarray, sample_rate: int) -> None:
        """Mix a short sound over whatever plays; `clear()` does not drop it."""
        if self._stream is None:
            return  # not open (no speaker yet): earcons are optional
        data = self._to_device(samples, sample_rate)
        with self._lock:
            self._earcons.append([data, 0])
        if self._asleep:
            self.wake()

    def wait(self, timeout: float | None = None, stop: threading.Event | None = None) -> bool:
        """Block until everything queued has been heard; False on timeout or `stop`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.pending() > 0:
            if deadline is not None and time.monotonic() > deadline:
                return False
            if stop is not None and stop.wait(0.01):
                return False
            if stop is None:
                time.sleep(0.01)  # polling the audio thread's progress: no event to wait on
        return True

    # -- the audio thread -----------------------------------------------------------------------

    def _callback(self, outdata, frames, time_info, status) -> None:
        gap = bool(status.output_underflow)
        if gap:
            self.underruns += 1
        mono_now = time.monotonic()
        self._last_callback = mono_now
        try:
            dac = time_info.outputBufferDacTime - time_info.currentTime
        except AttributeError:
            dac = 0.0
        # Some host APIs report 0 for the DAC time: use the stream's latency instead.
        dac_at = mono_now + (dac if 0.0 < dac < 1.0 else self.output_latency)
        out = outdata[:, 0]
        out.fill(0.0)
        started: list[tuple[Callable[[float], None], float]] = []
        with self._lock:
            filled = 0
            while filled < frames and self._queue:
                chunk = self._queue[0]
                if chunk.pos == 0 and chunk.on_start is not None:
                    started.append((chunk.on_start, dac_at + filled / self.rate))
                n = min(frames - filled, chunk.samples.size - chunk.pos)
                out[filled:filled + n] = chunk.samples[chunk.pos:chunk.pos + n]
                chunk.pos += n
                filled += n
                self._queued_samples -= n
                if chunk.pos >= chunk.samples.size:
                    self._queue.popleft()
            if filled:
                self._last_sound_dac = dac_at + filled / self.rate
            elif self._cleared_at is not None and self.silenced_at is None:
                self.silenced_at = dac_at
            earcon = bool(self._earcons)
            for item in list(self._earcons):
                data, pos = item
                n = min(frames, data.size - pos)
                out[:n] += data[pos:pos + n]
                item[1] = pos + n
                if item[1] >= data.size:
                    self._earcons.remove(item)
            sleep = False
            if filled or self._earcons or self._queue or self._last_sound_dac > mono_now:
                self._idle_since = None
            elif self._idle_since is None:
                self._idle_since = mono_now
            elif self.idle_sleep_s and mono_now - self._idle_since >= self.idle_sleep_s:
                # set under the lock that enqueue appends under: a chunk queued after this
                # point sees _asleep and restarts the stream
                self._asleep = sleep = True
                self.sleeps += 1
        np.clip(out, -1.0, 1.0, out=out)
        sound = bool(filled) or earcon
        if gap and sound and self._wrote_sound:
            self.underruns_in_sound += 1
        self._wrote_sound = sound
        for callback, t in started:
            try:
                callback(t)
            except Exception:  # noqa: BLE001 - never let a listener kill the audio thread
                log.exception("on_start callback failed")
        if sleep:
            raise self._callback_stop


def from_config(config: "Config") -> SoundDeviceSpeaker:
    """The speaker named by `audio.output_device` (empty: the system default)."""
    return SoundDeviceSpeaker(device=config.audio.output_device,
                              idle_sleep_s=config.audio.output_rest_s)
