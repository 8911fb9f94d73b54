"""The `glimpse` command in a subprocess, as a user runs it: help, version, doctor, devices,
models list, and usage errors. On this kind of machine (no display, no sound server) doctor and
devices must still answer plainly: no traceback, exit code 0 or 1."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from tests.support import ROOT


def glimpse(*args: str, env: dict | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "GLIMPSE_CONFIG_DIR": "/nonexistent-glimpse-config", **(env or {})}
    return subprocess.run([sys.executable, "-m", "ui.cli", *args], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def no_traceback(out: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in out.stderr and "Traceback" not in out.stdout, out.stderr


def test_help_lists_the_commands():
    out = glimpse("--help")
    assert out.returncode == 0
    for command in ("models", "doctor", "devices", "transcribe", "say"):
        assert command in out.stdout


def test_version():
    from assistant import __version__

    out = glimpse("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"glimpse {__version__}"


def test_usage_error_exits_2():
    out = glimpse("no-such-command")
    assert out.returncode == 2 and "invalid choice" in out.stderr
    assert glimpse("models", "pull").returncode == 2  # NAME missing


def test_doctor_answers_on_a_bare_machine(tmp_path):
    conf = tmp_path / "config.toml"
    conf.write_text('[asr]\nmodle = "whisper:tiny.en"\n')
    out = glimpse("--config", str(conf), "doctor", env={"GLIMPSE_MODELS_CACHE_DIR": str(tmp_path)})
    no_traceback(out)
    assert out.returncode in (0, 1)
    assert any(ln.startswith("WARN") and "unknown key 'asr.modle'" in ln
               for ln in out.stdout.splitlines()), out.stdout
    lines = [ln for ln in out.stdout.splitlines() if ln[:4] in ("OK  ", "WARN", "FAIL")]
    names = " ".join(ln[6:].split("  ")[0] for ln in lines)
    for check in ("python", "config", "audio devices", "audio server", "Qt", "espeak-ng",
                  "ffmpeg", "GPU", "disk space", "asr.model"):
        assert check in names, out.stdout
    # Every problem comes with a fix.
    text = out.stdout.splitlines()
    for i, line in enumerate(text):
        if line.startswith(("WARN", "FAIL")):
            assert "fix:" in text[i + 1], line


def test_doctor_json_and_a_bad_setting_fails_with_1(tmp_path):
    out = glimpse("--set", "asr.engine=bogus", "doctor", "--json",
                  env={"GLIMPSE_MODELS_CACHE_DIR": str(tmp_path)})
    no_traceback(out)
    assert out.returncode == 1
    doc = json.loads(out.stdout)
    [config] = [c for c in doc["checks"] if c["check"] == "config"]
    assert config["status"] == "FAIL"
    assert "asr.engine" in config["detail"] and "bogus" in config["detail"]
    assert doc["ok"] is False


def test_devices_answers_without_traceback():
    out = glimpse("devices")
    no_traceback(out)
    assert out.returncode == 0
    assert "Microphones:" in out.stdout and "Cameras:" in out.stdout
    assert "video file" in out.stdout  # says what else works as a camera
    doc = json.loads(glimpse("devices", "--json").stdout)
    assert set(doc) >= {"microphones", "speakers", "cameras", "audio_problem"}
    if not doc["microphones"] and not doc["speakers"]:
        assert "audio server" in doc["audio_problem"]


def test_models_list_and_offline_pull_error(tmp_path):
    env = {"GLIMPSE_MODELS_CACHE_DIR": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "xdg"),
           "HF_HUB_CACHE": str(tmp_path / "hub")}
    out = glimpse("models", "list", "--json", env=env)
    no_traceback(out)
    assert out.returncode == 0
    doc = json.loads(out.stdout)
    assert doc["cache_dir"] == str(tmp_path)
    assert {m["setting"] for m in doc["missing"]} >= {"asr.model"}
    out = glimpse("--offline", "models", "pull", "whisper:medium", env=env)
    no_traceback(out)
    assert out.returncode == 1
    assert out.stderr.count("\n") == 1 and "whisper:medium" in out.stderr
    out = glimpse("models", "pull", "nonsense", env=env)
    assert out.returncode == 1 and "Invalid model reference" in out.stderr


@pytest.mark.parametrize("argv", [["models", "verify", "piper:xx_YY-nobody-low"]])
def test_verify_of_a_missing_model_is_one_line(argv, tmp_path):
    out = glimpse(*argv, env={"GLIMPSE_MODELS_CACHE_DIR": str(tmp_path)})
    no_traceback(out)
    assert out.returncode == 1 and "not on this computer" in out.stderr


def test_pull_import_list_verify_end_to_end(tmp_path):
    """`glimpse models pull` from a loopback 'hub' (HF_ENDPOINT), then import, list, verify."""
    from tests.support.loopback_http import LoopbackServer

    env = {"GLIMPSE_MODELS_CACHE_DIR": str(tmp_path / "store"),
           "XDG_CACHE_HOME": str(tmp_path / "xdg"), "HF_HUB_CACHE": str(tmp_path / "hub")}
    voice = "/rhasspy/piper-voices/resolve/v1.0.0/en/en_GB/alba/medium/en_GB-alba-medium"
    with LoopbackServer() as srv:
        srv.state.files[voice + ".onnx"] = os.urandom(30_000)
        srv.state.files[voice + ".onnx.json"] = b'{"audio": {"sample_rate": 22050}}'
        out = glimpse("models", "pull", "piper:en_GB-alba-medium",
                      env={**env, "HF_ENDPOINT": srv.base})
        no_traceback(out)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == str(tmp_path / "store" / "piper" / "en_GB-alba-medium.onnx")
        again = glimpse("models", "pull", "piper:en_GB-alba-medium",
                        env={**env, "HF_ENDPOINT": srv.base})
        assert again.returncode == 0 and "already here" in again.stderr
        assert len(srv.state.requests) == 2  # the second pull downloaded nothing
    usb = tmp_path / "usb"
    usb.mkdir()
    (usb / "en_US-kathleen-low.onnx").write_bytes(os.urandom(5000))
    (usb / "en_US-kathleen-low.onnx.json").write_text('{"audio": {"sample_rate": 16000}}')
    out = glimpse("models", "import", str(usb), env=env)
    assert out.returncode == 0 and out.stdout.startswith("piper:en_US-kathleen-low"), out.stderr
    doc = json.loads(glimpse("models", "list", "--json", env=env).stdout)
    cached = {m["ref"] for m in doc["installed"] if m["source"] == "cache"}
    assert cached == {"piper:en_GB-alba-medium", "piper:en_US-kathleen-low"}
    out = glimpse("models", "verify", "piper:en_US-kathleen-low", env=env)
    assert out.returncode == 0 and out.stdout.startswith("OK"), out.stdout + out.stderr


def test_with_no_command_the_global_options_go_to_the_window():
    from ui.cli import parse

    args = parse(["--offline", "--set", "camera.source=clip.mp4"])
    assert args.command == "gui" and args.offline and args.overrides == ["camera.source=clip.mp4"]
    assert parse([]).command == "gui"
    assert parse(["--offline", "describe", "--image", "x.jpg"]).command == "describe"
    with pytest.raises(SystemExit):  # an unknown option is still a usage error, not the window
        parse(["--offline", "--bogus"])
