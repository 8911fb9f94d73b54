"""Configuration: checked values, unknown keys, a corrupt file, env and --set overrides, saving."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import config as cfg
from assistant.errors import ConfigError
from tests.support import ROOT


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_when_no_file(tmp_path):
    c = cfg.load(tmp_path / "none.toml", environ={})
    assert c == cfg.Config()
    assert c.asr.model == "whisper:base.en"


@pytest.mark.parametrize("toml, key, bad, allowed", [
    ('[asr]\nengine = "whisperx"\n', "asr.engine", "'whisperx'",
     "fast, openai-whisper, faster-whisper"),
    ("[audio]\npreroll_ms = 50\n", "audio.preroll_ms", "50", "300 to 3000"),
    ('[audio]\nvolume = "loud"\n', "audio.volume", "'loud'", "a number"),
    ('[ui]\nspeak_answers = "maybe"\n', "ui.speak_answers", "'maybe'", "true or false"),
    ("[turns]\nvad_silence_ms = 2.5\n", "turns.vad_silence_ms", "2.5", "a whole number"),
])
def test_invalid_value_is_one_clear_error(tmp_path, toml, key, bad, allowed):
    with pytest.raises(ConfigError) as err:
        cfg.load(write(tmp_path, toml), environ={})
    text = str(err.value)
    assert f"'{key}'" in text and bad in text and f"Allowed: {allowed}" in text
    assert text.count("\n") == 0


def test_unknown_key_and_section_are_warned_and_skipped(tmp_path, caplog):
    path = write(tmp_path, '[asr]\nmodle = "whisper:tiny.en"\nlanguage = "de"\n[sound]\nx = 1\n')
    with caplog.at_level(logging.WARNING, logger="assistant.config"):
        c = cfg.load(path, environ={})
    assert c.asr.language == "de" and c.asr.model == "whisper:base.en"
    assert "unknown key 'asr.modle'" in caplog.text and "known:" in caplog.text
    assert "unknown section [sound]" in caplog.text


def test_corrupt_toml_is_moved_aside_and_defaults_used(tmp_path, caplog):
    path = write(tmp_path, '[asr\nmodel = "whisper:tiny.en"\n')
    original = path.read_bytes()
    with caplog.at_level(logging.WARNING, logger="assistant.config"):
        c = cfg.load(path, environ={})
    assert c == cfg.Config()
    assert not path.exists()
    [aside] = list(tmp_path.glob("config.toml.bad-*"))
    assert aside.read_bytes() == original  # nothing the user wrote is lost
    assert str(aside) in caplog.text and "defaults" in caplog.text


def test_environment_overrides_the_file(tmp_path):
    path = write(tmp_path, '[asr]\nmodel = "whisper:small"\n')
    c = cfg.load(path, environ={"GLIMPSE_ASR_MODEL": "whisper:tiny.en",
                                "GLIMPSE_MODELS_OFFLINE": "yes", "GLIMPSE_UNRELATED": "x"})
    assert c.asr.model == "whisper:tiny.en" and c.models.offline is True
    with pytest.raises(ConfigError) as err:
        cfg.load(path, environ={"GLIMPSE_TURNS_MODE": "always"})
    assert "'turns.mode'" in str(err.value) and "push_to_talk" in str(err.value)


def test_set_overrides_env_and_file(tmp_path):
    path = write(tmp_path, '[asr]\nmodel = "whisper:small"\n')
    overrides = cfg.parse_overrides(["asr.model = whisper:tiny.en", "asr.hotwords=Glimpse, Piper"])
    c = cfg.load(path, environ={"GLIMPSE_ASR_MODEL": "whisper:medium"}, overrides=overrides)
    assert c.asr.model == "whisper:tiny.en" and c.asr.hotwords == ("Glimpse", "Piper")
    with pytest.raises(ConfigError) as err:
        cfg.parse_overrides(["asr.model"])
    assert "section.key=value" in str(err.value)
    with pytest.raises(ConfigError) as err:
        cfg.load(path, environ={}, overrides={"asr.nope": "1"})
    assert "Unknown setting 'asr.nope'" in str(err.value) and "model" in str(err.value)


def test_set_on_the_command_line(tmp_path):
    env = {**os.environ, "GLIMPSE_CONFIG_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "ui.cli", "--set", "asr.model=whisper:tiny.en",
                          "--offline", "config", "show"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["asr"]["model"] == "whisper:tiny.en" and doc["models"]["offline"] is True
    bad = subprocess.run([sys.executable, "-m", "ui.cli", "--set", "audio.volume=9",
                          "config", "show"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "audio.volume" in bad.stderr and "0.0 to 2.0" in bad.stderr


def test_save_round_trip_is_atomic(tmp_path):
    path = tmp_path / "sub" / "config.toml"
    c = cfg.Config().with_value("asr.model", "whisper:tiny.en").with_value(
        "asr.hotwords", "Glimpse,Piper").with_value("audio.volume", "0.8")
    cfg.save(c, path)
    assert cfg.load(path, environ={}) == c
    # Saving again replaces the file whole; no temporary files are left behind.
    inode = path.stat().st_ino
    cfg.save(c.with_value("ui.theme", "dark"), path)
    assert cfg.load(path, environ={}).ui.theme == "dark"
    assert path.stat().st_ino != inode  # a new file renamed into place, not rewritten in place
    assert sorted(p.name for p in path.parent.iterdir()) == ["config.toml"]


def test_with_value_checks_like_the_file():
    with pytest.raises(ConfigError):
        cfg.Config().with_value("vlm.max_new_tokens", "0")
    assert cfg.Config().with_value("vlm.max_new_tokens", "64").vlm.max_new_tokens == 64


def test_describe_covers_every_key():
    keys = {row[0] for row in cfg.describe()}
    assert {"asr.model", "models.offline", "models.cache_dir", "tts.voice"} <= keys
    assert all(row[3] for row in cfg.describe())  # every key has help text
