"""The real microphone: PortAudio through sounddevice, resampled to 16 kHz mono with soxr.

Threads: PortAudio calls `_callback` on its own audio thread; it only copies the block into a
bounded queue (`put_nowait`) and counts what does not fit (`dropped`), so the audio thread never
waits. The capture stage calls `read`, which resamples on the stage thread.

Device choice (`audio.input_device`): empty = the system default, a number = a PortAudio index,
anything else = a case-insensitive part of the device name. A rate the device refuses falls
back to its default rate, then 48000, 44100, 16000. No audio server, no input device, or a
device lost mid-stream raise `DeviceError` naming the devices there are and what to do.
"""
from __future__ import annotations

import logging
import queue
import time
from typing import Any

import numpy as np

from assistant.errors import DeviceError

log = logging.getLogger(__name__)

RATE = 16000
FALLBACK_RATES = (48000, 44100, 16000)


def _sd():
    try:
        import sounddevice
    except OSError as exc:  # libportaudio missing
        raise DeviceError("The audio library PortAudio is missing",
                          "Install it (Debian/Ubuntu: apt install libportaudio2)",
                          needs_action=True) from exc
    return sounddevice


def list_input_devices() -> list[dict[str, Any]]:
    """[{index, name, channels, default_samplerate, default}] of devices with inputs.

    An empty list when PortAudio sees no devices at all (no audio server)."""
    sd = _sd()
    try:
        devices = sd.query_devices()
    except sd.PortAudioError:
        return []
    try:
        default = sd.default.device[0]
    except (sd.PortAudioError, TypeError, IndexError):
        default = -1
    return [{"index": i, "name": d["name"], "channels": d["max_input_channels"],
             "default_samplerate": d["default_samplerate"], "default": i == default}
            for i, d in enumerate(devices) if d["max_input_channels"] > 0]


def _available() -> str:
    names = [f"{d['index']}: {d['name']}" for d in list_input_devices()]
    return "; ".join(names) if names else "none"


def find_input_device(spec: str) -> int | None:
    """PortAudio index for `audio.input_device` (None = the system default)."""
    spec = spec.strip()
    if not spec:
        return None
    devices = list_input_devices()
    if spec.lstrip("-").isdigit():
        index = int(spec)
        if any(d["index"] == index for d in devices):
            return index
    else:
        for d in devices:
            if spec.lower() in d["name"].lower():
                return d["index"]
    raise DeviceError(f"No microphone matches '{spec}' (audio.input_device). Input devices "
                      f"here: {_available()}",
                      "Set audio.input_device to one of these names or numbers, or leave it "
                      "empty for the system default", needs_action=True)


class SoundDeviceMicrophone:
    """Implements the Microphone port (16 kHz mono float32 chunks)."""

    sample_rate = RATE

    def __init__(self, device: str = "", block_s: float = 0.04, queue_s: float = 10.0,
                 stall_s: float = 3.0) -> None:
        self.device_spec = device
        self.block_s = block_s
        self._queue: queue.Queue[tuple[np.ndarray, bool]] = queue.Queue(
            maxsize=max(8, int(queue_s / block_s)))
        self._stream = None
        self._resampler = None
        self.device_rate = 0
        self.device_name = ""
        self._dropped = 0
        self._status_errors = 0
        self._reported_losses = 0  # overflows + drops already logged
        self._last_report = 0.0
        self.stall_s = stall_s  # no audio for this long from an "active" stream = lost
        self._last_block = 0.0

    @property
    def dropped(self) -> int:
        """Blocks thrown away because the reader fell more than `queue_s` behind."""
        return self._dropped

    @property
    def overflows(self) -> int:
        """Blocks the audio server reported as overflowed (input lost before it reached us)."""
        return self._status_errors

    # -- audio thread -----------------------------------------------------------------------------

    def _callback(self, indata, frames, time_info, status) -> None:
        # Runs on PortAudio's thread: copy and go. Input overflow is counted, not logged here.
        try:
            self._queue.put_nowait((indata.copy(), bool(status.input_overflow)))
        except queue.Full:
            self._dropped += 1

    # -- stage thread -------------------------------------------------------------------------------

    def open(self) -> None:
        sd = _sd()
        try:
            sd.query_devices()
            index = find_input_device(self.device_spec)
            info = sd.query_devices(index if index is not None else sd.default.device[0])
        except sd.PortAudioError as exc:
            raise DeviceError(f"No microphone is available ({exc}). Input devices here: "
                              f"{_available()}",
                              "Connect a microphone and check that the audio server "
                              "(PulseAudio or PipeWire) is running; `glimpse devices` lists "
                              "what Glimpse can see", needs_action=True) from exc
        if info["max_input_channels"] < 1:
            raise DeviceError(f"'{info['name']}' has no input. Input devices here: "
                              f"{_available()}", "Choose a microphone in Settings",
                              needs_action=True)
        rates = [int(info["default_samplerate"]), *FALLBACK_RATES]
        last: Exception | None = None
        for rate in dict.fromkeys(r for r in rates if r > 0):
            try:
                sd.check_input_settings(device=index, samplerate=rate, channels=1,
                                        dtype="float32")
                # The host's high-latency buffer rides out a busy moment (a long GIL hold, a
                # loaded CPU) instead of losing input; the blocks still come every block_s.
                stream = sd.InputStream(device=index, samplerate=rate, channels=1,
                                        dtype="float32", blocksize=int(rate * self.block_s),
                                        latency="high", callback=self._callback)
                stream.start()
            except (sd.PortAudioError, ValueError) as exc:
                last = exc
                continue
            self._stream, self.device_rate, self.device_name = stream, rate, info["name"]
            break
        if self._stream is None:
            raise DeviceError(f"The microphone '{info['name']}' could not be opened ({last}). "
                              f"Input devices here: {_available()}",
                              "Close programs that may hold it, or choose another in Settings",
                              needs_action=True)
        import soxr

        self._resampler = (soxr.ResampleStream(self.device_rate, RATE, 1, dtype="float32")
                           if self.device_rate != RATE else None)
        self._last_block = time.monotonic()
        log.info("microphone '%s' open at %d Hz", self.device_name, self.device_rate)

    def read(self, timeout: float) -> np.ndarray | None:
        stream = self._stream
        if stream is None:
            raise DeviceError("The microphone is not open", "Restart listening")
        try:
            block, overflow = self._queue.get(timeout=timeout) if timeout > 0 else \
                self._queue.get_nowait()
        except queue.Empty:
            # A dead server either stops the stream or leaves it "active" but silent.
            if not stream.active or time.monotonic() - self._last_block > self.stall_s:
                self._lost()
            return None
        self._last_block = time.monotonic()
        if overflow:
            self._status_errors += 1
        self._report_losses()
        mono = block[:, 0] if block.ndim == 2 else block
        if self._resampler is not None:
            mono = self._resampler.resample_chunk(mono)
        return np.ascontiguousarray(mono, dtype=np.float32)

    def _report_losses(self, every_s: float = 10.0) -> None:
        lost = self._status_errors + self._dropped
        now = time.monotonic()
        if lost > self._reported_losses and now - self._last_report >= every_s:
            log.warning("microphone '%s' lost audio: %d overflowed and %d dropped blocks so far "
                        "(the machine was too busy to keep up; speech may be misheard)",
                        self.device_name, self._status_errors, self._dropped)
            self._reported_losses, self._last_report = lost, now

    def _lost(self) -> None:
        name = self.device_name
        self.close()
        raise DeviceError(f"The microphone '{name}' stopped delivering audio (it was unplugged "
                          f"or the audio server went away). Input devices now: {_available()}",
                          "Plug it back in; Glimpse reconnects by itself", needs_action=True)

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            sd = _sd()
            try:
                stream.stop()
                stream.close()
            except sd.PortAudioError as exc:
                log.info("closing the microphone stream failed (already gone): %s", exc)
        while not self._queue.empty():
            self._queue.get_nowait()


def from_config(config) -> SoundDeviceMicrophone:
    return SoundDeviceMicrophone(device=config.audio.input_device)
