"""Loading audio files as 16 kHz mono float32.

soundfile (libsndfile) reads WAV, FLAC, OGG and, with libsndfile ≥ 1.1, MP3; anything it cannot
read goes through an `ffmpeg` subprocess. Stereo is mixed down, the rate converted with soxr.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np

from assistant.errors import GlimpseError

RATE = 16000


class AudioFileError(GlimpseError):
    """A file that is missing, empty, corrupt or in a format nothing here can read."""


def to_mono_16k(data: np.ndarray, rate: int) -> np.ndarray:
    """float32 mono 16 kHz from (frames,) or (frames, channels) at `rate`."""
    import soxr

    data = np.asarray(data, dtype=np.float32)
    mono = data.mean(axis=1) if data.ndim == 2 else data
    if rate != RATE:
        mono = soxr.resample(mono, rate, RATE, quality="HQ")
    return np.ascontiguousarray(mono, dtype=np.float32)


def _ffmpeg(path: Path) -> np.ndarray:
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise AudioFileError(f"Cannot read {path.name}: its format needs ffmpeg, which is not "
                             "installed", "Install ffmpeg, or convert the file to WAV or FLAC")
    proc = subprocess.run([exe, "-nostdin", "-v", "error", "-i", str(path), "-f", "f32le",
                           "-ac", "1", "-ar", str(RATE), "-"], capture_output=True, check=False)
    if proc.returncode != 0:
        reason = proc.stderr.decode(errors="replace").strip().splitlines()
        raise AudioFileError(f"Cannot read {path.name}: "
                             f"{reason[-1] if reason else 'not an audio file'}",
                             "Check that it is a complete audio file (wav, flac, mp3, ogg, ...)")
    return np.frombuffer(proc.stdout, np.float32).copy()


def load_audio(path: str | Path) -> np.ndarray:
    """The file's audio as 16 kHz mono float32. Raises AudioFileError (one clear line)."""
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise AudioFileError(f"No such file: {path}", "Check the path")
    if path.stat().st_size == 0:
        raise AudioFileError(f"{path.name} is empty (0 bytes)", "Choose a recorded audio file")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
        audio = to_mono_16k(data, rate)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
        audio = _ffmpeg(path)  # a format libsndfile does not know, or a damaged file
    if audio.size == 0:
        raise AudioFileError(f"{path.name} holds no audio", "Choose a recorded audio file")
    return audio
