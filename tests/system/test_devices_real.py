"""`glimpse devices` and `glimpse doctor` against a real (virtual) PulseAudio server: PortAudio
lists the virtual mic and speaker as the defaults, and doctor reports the server as running."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from tests.support import ROOT

pytestmark = pytest.mark.system


def glimpse(virtual_audio, *args: str) -> subprocess.CompletedProcess:
    # A fresh process, so PortAudio starts with the rig's server in its environment.
    env = {**os.environ, **virtual_audio.env, "GLIMPSE_CONFIG_DIR": "/nonexistent-glimpse-config"}
    return subprocess.run([sys.executable, "-m", "ui.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_devices_lists_the_virtual_mic_and_speaker(virtual_audio):
    out = glimpse(virtual_audio, "devices", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["microphones"] and doc["speakers"], doc
    assert doc["audio_problem"] == ""
    assert any(d["default"] for d in doc["microphones"])
    assert any(d["default"] for d in doc["speakers"])
    server = doc["audio_server"]
    assert [d["name"] for d in server["sources"] if d["default"]] == ["mic"]
    assert [d["name"] for d in server["sinks"] if d["default"]] == ["speaker"]
    text = glimpse(virtual_audio, "devices").stdout
    assert "(default)" in text and "* input   VirtualMic  [mic]" in text


def test_doctor_sees_the_audio_server(virtual_audio):
    out = glimpse(virtual_audio, "doctor", "--json")
    assert "Traceback" not in out.stderr
    checks = {c["check"]: c for c in json.loads(out.stdout)["checks"]}
    assert checks["audio server"]["status"] == "OK", checks["audio server"]
    assert checks["audio devices"]["status"] == "OK", checks["audio devices"]
