"""A private PulseAudio server with a virtual speaker and a virtual microphone.

Used by the system tests and by `glimpse bench e2e` on machines with no sound hardware, so the
real capture and playback paths (PortAudio via sounddevice) run end to end.

- sink `speaker`: the default output; what Glimpse plays is recorded from `speaker.monitor`.
- sink `micfeed`: tests play WAVs into it; the remapped source `mic` is the default input.
PortAudio (sounddevice) reaches the server through ALSA's pulse plugin, so the product's real
capture and playback code runs unchanged.

`norewinds=1` on the null sinks matters: without it a new playback stream rewrites already
rendered audio and monitor recordings come out garbled.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import wave
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np

_PA_SCRIPT = """\
load-module module-native-protocol-unix auth-anonymous=1
load-module module-null-sink sink_name=speaker rate=48000 norewinds=1 sink_properties=device.description=VirtualSpeaker
load-module module-null-sink sink_name=micfeed rate=48000 norewinds=1 sink_properties=device.description=VirtualMicFeed
load-module module-remap-source source_name=mic master=micfeed.monitor source_properties=device.description=VirtualMic
set-default-sink speaker
set-default-source mic
"""

ENV_KEYS = ("XDG_RUNTIME_DIR", "PULSE_SERVER")


class RigError(RuntimeError):
    pass


class VirtualAudio:
    """Start with `start()`; `env` holds the variables a client process needs. Stop with `stop()`."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="glimpse-audio-"))
        self.env: dict[str, str] = {}
        self._proc: subprocess.Popen | None = None
        self._saved: dict[str, str | None] = {}

    @staticmethod
    def missing_tools() -> list[str]:
        return [t for t in ("pulseaudio", "pactl", "paplay", "parecord") if not shutil.which(t)]

    def start(self, timeout: float = 10.0) -> "VirtualAudio":
        missing = self.missing_tools()
        if missing:
            raise RigError(f"missing tools: {', '.join(missing)} (apt-get install pulseaudio "
                           "pulseaudio-utils libasound2-plugins libportaudio2)")
        run = self.dir / "run"
        run.mkdir(mode=0o700)
        (self.dir / "config").mkdir()
        (self.dir / "va.pa").write_text(_PA_SCRIPT)
        self.env = {"XDG_RUNTIME_DIR": str(run), "PULSE_SERVER": f"unix:{run}/pulse/native"}
        env = dict(os.environ, **self.env, HOME=str(self.dir),
                   XDG_CONFIG_HOME=str(self.dir / "config"))
        self._proc = subprocess.Popen(
            ["pulseaudio", "-n", "-F", str(self.dir / "va.pa"), "--daemonize=no",
             "--exit-idle-time=-1", "--disallow-exit", f"--log-target=file:{self.dir}/pulse.log"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                break
            if subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode == 0:
                self._export()
                return self
            time.sleep(0.05)  # polling a server's startup: no event to wait on
        log = (self.dir / "pulse.log").read_text(errors="replace")[-2000:] if (
            self.dir / "pulse.log").exists() else ""
        self.stop()
        raise RigError(f"PulseAudio did not start: {log}")

    def _export(self) -> None:
        for key, value in self.env.items():
            self._saved[key] = os.environ.get(key)
            os.environ[key] = value

    def stop(self) -> None:
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved.clear()
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
            self._proc = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def _client_env(self) -> dict[str, str]:
        return dict(os.environ, **self.env)

    def play_into_mic(self, wav: str | Path) -> subprocess.Popen:
        """Start playing a WAV into the virtual microphone; returns the player process."""
        return subprocess.Popen(["paplay", "-d", "micfeed", str(wav)], env=self._client_env())

    @contextmanager
    def record_speaker(self, rate: int = 16000) -> Iterator["Recording"]:
        """Record the virtual speaker while the block runs; `.samples` is filled on exit."""
        path = self.dir / f"speaker-{time.monotonic_ns()}.wav"
        proc = subprocess.Popen(["parecord", "-d", "speaker.monitor", f"--rate={rate}",
                                 "--channels=1", "--format=s16le", "--file-format=wav",
                                 "--latency-msec=10", str(path)], env=self._client_env())
        try:
            # Sound played before the recorder is live is lost, so wait until the monitor's
            # samples reach the file (the null sink runs without pause, silence included).
            if not self._wait_for_bytes(path, proc, 44 + 2 * rate // 50, timeout=10.0):
                raise RigError("the virtual speaker's monitor sent nothing to parecord in 10 s")
            live_at = time.monotonic()
            recording = Recording(path, rate, started_at=live_at)
            yield recording
            # The monitor lags what was played by its latency: stop only once the file holds
            # everything up to now, or the tail of the last sound is cut off.
            self._wait_for_bytes(path, proc, 44 + 2 * int(rate * (time.monotonic() - live_at)),
                                 timeout=2.0)
        finally:
            proc.terminate()
            proc.wait(5)
        recording.load()

    @staticmethod
    def _wait_for_bytes(path: Path, proc: subprocess.Popen, size: int, timeout: float) -> bool:
        """Wait until the recorder's file holds `size` bytes; False when it did not in time."""
        deadline = time.monotonic() + timeout
        while (path.stat().st_size if path.exists() else 0) < size:
            if proc.poll() is not None:
                raise RigError(f"parecord stopped (exit {proc.returncode}) while recording")
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)  # polling a file another process writes: no event to wait on
        return True


class Recording:
    """What the speaker played: 16 kHz mono float32 in `samples`, from `started_at` (monotonic)."""

    def __init__(self, path: Path, rate: int, started_at: float) -> None:
        self.path = path
        self.rate = rate
        self.started_at = started_at
        self.samples = np.zeros(0, np.float32)

    def load(self) -> None:
        if not self.path.exists():
            return
        with wave.open(str(self.path)) as w:
            raw = w.readframes(w.getnframes())
        self.samples = np.frombuffer(raw, np.int16).astype(np.float32) / 32768

    def first_sound(self, threshold: float = 0.01, block: int = 160) -> float | None:
        """Seconds from the start of the recording to the first block louder than `threshold`."""
        n = len(self.samples) // block
        if n == 0:
            return None
        rms = np.sqrt((self.samples[: n * block].reshape(n, block) ** 2).mean(axis=1))
        loud = np.nonzero(rms > threshold)[0]
        return float(loud[0] * block / self.rate) if loud.size else None


def correlation(reference: np.ndarray, recording: np.ndarray) -> float:
    """Peak normalized cross-correlation of a reference inside a recording (0..1)."""
    n = 1 << int(np.ceil(np.log2(len(reference) + len(recording))))
    xc = np.fft.irfft(np.fft.rfft(recording, n) * np.conj(np.fft.rfft(reference, n)), n)
    lag = int(np.argmax(xc[: len(recording)]))
    seg = recording[lag: lag + len(reference)]
    m = min(len(seg), len(reference))
    denom = np.linalg.norm(seg[:m]) * np.linalg.norm(reference[:m]) + 1e-12
    return float(seg[:m] @ reference[:m] / denom)


class SpeakerProbe:
    """Records the virtual speaker's monitor in a child process, with monotonic timestamps.

    CLOCK_MONOTONIC is shared by all processes on Linux, so `first_sound_after(t)` returns the
    monotonic time the first audible sample left the speaker after `t`: the "first audio played"
    mark read from the speaker side rather than from Glimpse's own callback.
    """

    def __init__(self, audio: VirtualAudio, rate: int = 16000) -> None:
        self.audio = audio
        self.rate = rate
        self.path = audio.dir / f"probe-{time.monotonic_ns()}.npz"
        self._proc: subprocess.Popen | None = None
        self.samples = np.zeros(0, np.float32)
        self.times = np.zeros(0, np.float64)  # monotonic time of each sample

    def __enter__(self) -> "SpeakerProbe":
        import sys

        env = dict(os.environ, **self.audio.env, PULSE_SOURCE="speaker.monitor")
        self._proc = subprocess.Popen([sys.executable, "-m", "ui.bench.kit.rig", "probe",
                                       str(self.path), str(self.rate)], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self._proc.stdout.readline() if self._proc.stdout else ""
        if line.strip() != "recording":
            err = self._proc.stderr.read() if self._proc.stderr else ""
            raise RigError(f"speaker probe did not start: {line} {err[-500:]}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(10)
        if self.path.exists():
            data = np.load(self.path)
            self.samples, self.times = data["samples"], data["times"]

    def first_sound_after(self, t: float, threshold: float = 0.01, block: int = 80) -> float | None:
        start = int(np.searchsorted(self.times, t))
        seg = self.samples[start:]
        n = len(seg) // block
        if n == 0:
            return None
        rms = np.sqrt((seg[: n * block].reshape(n, block) ** 2).mean(axis=1))
        loud = np.nonzero(rms > threshold)[0]
        return float(self.times[start + loud[0] * block]) if loud.size else None


def _probe_main(out: str, rate: int) -> None:
    """Child process: record the default input (PULSE_SOURCE=speaker.monitor) until SIGTERM."""
    import signal

    import sounddevice as sd

    blocks: list[np.ndarray] = []
    starts: list[float] = []
    stop = {"flag": False}

    def callback(indata, frames, time_info, status):  # audio thread
        now = time.monotonic()
        # The first sample of this block was captured (current - adc) seconds before now.
        lag = max(0.0, time_info.currentTime - time_info.inputBufferAdcTime) if \
            time_info.inputBufferAdcTime else 0.0
        starts.append(now - lag - 0.0)
        blocks.append(indata[:, 0].copy())

    signal.signal(signal.SIGTERM, lambda *_: stop.update(flag=True))
    with sd.InputStream(samplerate=rate, channels=1, dtype="float32", blocksize=80,
                        latency="low", callback=callback):
        print("recording", flush=True)
        while not stop["flag"]:
            signal.pause()
    samples = np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
    times = np.concatenate([s + np.arange(len(b)) / rate for s, b in zip(starts, blocks)]) \
        if blocks else np.zeros(0)
    np.savez(out, samples=samples, times=times)


if __name__ == "__main__":
    import sys

    if len(sys.argv) == 4 and sys.argv[1] == "probe":
        _probe_main(sys.argv[2], int(sys.argv[3]))
