"""A long recording that changes language midway (espeak-ng English, then German) through the
fast engine on real multilingual base weights: each window is decoded in its own language, so
the German is German and not invented English."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from assistant.ports import AsrOptions
from audio.asr import engines as asr
from tests.support import whisper as sw
from tests.support.fakes import read_wav_16k
from tests.support.rig import unavailable

pytestmark = pytest.mark.system

ENGLISH = ("Good morning. Today we will talk about the weather in the mountains, and about the "
           "trains that leave the station every hour.")
GERMAN = ("Guten Morgen. Heute sprechen wir über das Wetter in den Bergen und über die Züge, die "
          "jede Stunde vom Bahnhof abfahren.")


def _say(text: str, voice: str, tmp_path: Path) -> np.ndarray:
    if shutil.which("espeak-ng") is None:
        unavailable("espeak-ng is not installed (apt install espeak-ng)")
    wav = tmp_path / f"{voice}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(wav), text], check=True,
                   capture_output=True)
    return read_wav_16k(wav)


def test_each_window_is_decoded_in_its_own_language(tmp_path):
    english, german = _say(ENGLISH, "en-us", tmp_path), _say(GERMAN, "de", tmp_path)
    audio = np.concatenate([english, np.zeros(16000, np.float32), german])
    assert len(audio) > asr.WINDOW_S * 16000  # two windows, cut in the pause between them
    engine = asr.FastWhisperEngine(sw.base_checkpoint(), device="cpu")
    engine.load()
    result = engine.transcribe(audio, AsrOptions(language=None))
    assert engine.window_languages == ["en", "de"]
    assert result.language == "en"  # the result carries the first window's language
    text = asr.normalize(result.text)
    assert "weather in the mountains" in text
    assert "guten morgen" in text and "bahnhof" in text, result.text


def test_a_fixed_language_is_kept_for_every_window(tmp_path):
    english, german = _say(ENGLISH, "en-us", tmp_path), _say(GERMAN, "de", tmp_path)
    audio = np.concatenate([english, np.zeros(16000, np.float32), german])
    engine = asr.FastWhisperEngine(sw.base_checkpoint(), device="cpu")
    engine.load()
    engine.transcribe(audio, AsrOptions(language="en"))
    assert engine.window_languages == ["en", "en"]


def test_transcribe_json_lists_the_language_of_each_window(tmp_path, capsys):
    import json

    import soundfile as sf

    from ui.cli import main

    english, german = _say(ENGLISH, "en-us", tmp_path), _say(GERMAN, "de", tmp_path)
    wav = tmp_path / "both.wav"
    sf.write(str(wav), np.concatenate([english, np.zeros(16000, np.float32), german]), 16000)
    assert main(["transcribe", str(wav), "--model", str(sw.base_checkpoint()),
                 "--engine", "fast", "--language", "auto", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["window_languages"] == ["en", "de"] and "Bahnhof" in doc["text"]
