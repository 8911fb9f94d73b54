"""Running one command registers only that command: the other commands' modules (and what they
import, e.g. the bootstrap) are not loaded before the work begins."""
from __future__ import annotations

import subprocess
import sys

import pytest

from ui import cli
from tests.support import ROOT


@pytest.mark.parametrize("argv, module", [
    (["transcribe", "a.wav"], "transcribe"),
    (["--offline", "--set", "asr.model=tiny.en", "transcribe", "a.wav"], "transcribe"),
    (["--config", "c.toml", "ask", "what is this"], "ask"),
    (["config", "show"], "config_cmd"),
    (["install-desktop"], "desktop"),
    (["--help"], None),
    (["--debug"], None),
    (["nonsense"], None),
])
def test_command_module(argv, module):
    assert cli._command_module(argv) == module


def test_transcribe_does_not_import_the_other_commands():
    code = ("import sys, ui.cli as c; a = c.parse(['transcribe', 'x.wav']); "
            "print(a.command, sorted(m for m in sys.modules if m.startswith('ui.')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, check=True).stdout
    assert out.startswith("transcribe ")
    assert "ui.cli.ask" not in out and "ui.bootstrap" not in out and "ui.cli.transcribe" in out


def test_a_typo_still_gets_the_full_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.parse(["transcrib", "x.wav"])
    assert exc.value.code == 2
    assert "transcribe" in capsys.readouterr().err  # the choices are listed
