"""Running a session script: a test's scenario in a process of its own (PortAudio binds one
audio server per process; a mount namespace must not outlive the scenario).

A session script is a module under `tests/` run with `python -m`. It reports what it saw as
one JSON object: printed as the last `{...}` line of its stdout, or written to a file the test
names. A script that could not start the rig reports `{"norig": reason}`, which skips the test
on a developer's desktop and fails it in CI (`tests.support.rig.unavailable`).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

from tests.support import ROOT
from tests.support.rig import unavailable


def run_session(module: str, *args: str, prefix: Sequence[str] = (), env: dict | None = None,
                result: Path | None = None, timeout: float = 180) -> dict:
    """Run `python -m module args` from the repository root (behind `prefix`, e.g. `unshare`)
    and return the JSON it reported: from `result` when given (the process must exit 0), else
    the last JSON line of stdout."""
    proc = subprocess.run([*prefix, sys.executable, "-m", module, *args], cwd=ROOT,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout)
    if result is not None:
        assert proc.returncode == 0, proc.stderr[-3000:]
        out = json.loads(Path(result).read_text())
    else:
        lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
        assert lines, proc.stdout[-2000:] + proc.stderr[-3000:]
        out = json.loads(lines[-1])
    if "norig" in out:
        unavailable(out["norig"])
    return out


def wait_file(path: Path, proc: subprocess.Popen, timeout: float) -> bool:
    """Wait until the child `proc` writes `path` (True), ends first or the timeout passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.05)  # polling a file the child writes, with a deadline
    return False


def stop_all(procs: list[subprocess.Popen]) -> None:
    """Terminate the processes, newest first (kill one that ignores it), and forget them."""
    for proc in reversed(procs):
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
    procs.clear()


def start_audio_or_report():
    """A session script's virtual audio rig, started; or None after printing `{"norig": ...}`
    for the test to skip or fail on (see the module docstring)."""
    from tests.support.rig.audio import RigError, VirtualAudio

    try:
        return VirtualAudio().start()
    except RigError as exc:
        print(json.dumps({"norig": str(exc)}))
        return None


def run_window_session(module: str, tmp: Path, artifact: str, timeout: float) -> dict:
    """Run the window session script `module` on a private X server with a fresh config and
    data folder under `tmp`, its screenshots in the artifacts folder; return its JSON, also
    saved there as `artifact` (before the checks, so a failed run leaves it to read)."""
    from tests.support.rig.display import ARTIFACTS, DisplayError, VirtualDisplay

    display = VirtualDisplay()
    try:
        display.start()
    except (DisplayError, OSError) as exc:
        unavailable(str(exc))
    out = tmp / "session.json"
    env = display.env(GLIMPSE_CONFIG_DIR=str(tmp / "config"), GLIMPSE_DATA_DIR=str(tmp / "data"),
                      PYTHONPATH=str(ROOT))
    try:
        proc = subprocess.run([sys.executable, "-m", module, str(out), "--shots", str(ARTIFACTS)],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    finally:
        display.stop()
    assert out.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(out.read_text())
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / artifact).write_text(json.dumps(result, indent=2))
    assert proc.returncode == 0 and "error" not in result, result.get("error", "") + \
        proc.stderr[-3000:]
    return result
