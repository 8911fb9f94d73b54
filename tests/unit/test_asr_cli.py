"""`glimpse transcribe` on real files with the real tiny.en weights: text on stdout, one-line
errors for empty/corrupt/missing files (the others still transcribed), JSON output."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import whisper as sw
from ui.cli import main

JFK = Path(__file__).resolve().parents[1] / "data" / "jfk.flac"


@pytest.fixture(scope="module")
def model() -> str:
    return str(sw.tiny_en_checkpoint())


def test_one_file_prints_just_the_text(model, capsys):
    assert main(["transcribe", str(JFK), "--model", model]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and sw.word_error_rate(sw.JFK_TEXT, out[0]) == 0


def test_bad_files_fail_alone(model, tmp_path, capsys):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    corrupt = tmp_path / "corrupt.flac"
    corrupt.write_bytes(b"fLaC" + bytes(range(256)) * 8)
    stereo = tmp_path / "stereo.wav"
    subprocess.run(["sox", str(JFK), "-c", "2", "-r", "48000", str(stereo)], check=True) \
        if shutil.which("sox") else pytest.skip("sox is not installed")
    rc = main(["transcribe", str(empty), str(JFK), str(corrupt), str(stereo),
               str(tmp_path / "missing.wav"), "--model", model])
    captured = capsys.readouterr()
    assert rc == 1
    lines = captured.out.strip().splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == [str(JFK), str(stereo)]
    assert all(sw.word_error_rate(sw.JFK_TEXT, line.split(": ", 1)[1]) == 0 for line in lines)
    errors = [line for line in captured.err.splitlines() if line.startswith("glimpse: /")
              or line.startswith(f"glimpse: {tmp_path}")]
    assert any("empty.wav is empty" in line for line in errors)
    assert any("corrupt.flac" in line and "Cannot read" in line for line in errors)
    assert any("No such file" in line for line in errors)
    assert "Traceback" not in captured.err


def test_mp3_through_ffmpeg_and_json(model, tmp_path, capsys):
    if not shutil.which("ffmpeg"):
        pytest.skip("ffmpeg is not installed")
    mp3 = tmp_path / "jfk.mp3"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(JFK), str(mp3)], check=True)
    assert main(["transcribe", str(mp3), "--model", model, "--json",
                 "--engine", "fast"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["language"] == "en" and abs(doc["seconds"] - 11.0) < 0.1
    assert sw.word_error_rate(sw.JFK_TEXT, doc["text"]) == 0
    assert doc["timings"]["transcribe_s"] > 0
