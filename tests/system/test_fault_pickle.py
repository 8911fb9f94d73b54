"""Fault matrix: a model file that is a pickle carrying code is refused on import and on load,
the code never runs, and the message never suggests loading it with `weights_only=False`."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import torch  # required: a broken install fails here, never skips

from assistant.config import from_dict  # noqa: E402
from assistant.errors import ModelError, describe_exception  # noqa: E402
from audio.asr.engines import OpenAIWhisperEngine, FastWhisperEngine  # noqa: E402
from ui.bootstrap import model_store  # noqa: E402
from tests.support import ROOT


class Payload:
    """Unpickling this runs a shell command that creates `marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def evil_checkpoint(folder: Path, marker: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tiny.en.pt"
    torch.save({"dims": {"n_mels": 80}, "model_state_dict": Payload(marker)}, path)
    return path


def assert_refused(message: str, path: Path, marker: Path) -> None:
    assert str(path) in message
    assert "holds code or objects that are not weights (it asks for posix.system)" in message
    assert "glimpse models verify" in message and "glimpse models pull" in message
    assert "weights_only" not in message and "False" not in message
    assert not marker.exists(), "the code in the file ran"


def test_import_refuses_it_and_runs_nothing(tmp_path):
    marker = tmp_path / "ran"
    path = evil_checkpoint(tmp_path / "incoming", marker)
    store = model_store(from_dict({"models": {"cache_dir": str(tmp_path / "store"),
                                              "offline": True}}))
    with pytest.raises(ModelError) as err:
        store.import_dir(tmp_path / "incoming")
    assert_refused(err.value.message, path, marker)
    assert not (tmp_path / "store" / "whisper").exists()


@pytest.mark.parametrize("engine", [OpenAIWhisperEngine, FastWhisperEngine])
def test_loading_it_as_the_speech_model_refuses_it_and_runs_nothing(tmp_path, engine):
    marker = tmp_path / "ran"
    path = evil_checkpoint(tmp_path, marker)
    with pytest.raises(ModelError) as err:
        engine(path, device="cpu").load()
    assert_refused(err.value.message, path, marker)
    assert err.value.needs_action


def test_torch_advice_is_never_passed_on_from_any_stage(tmp_path):
    """A stage that meets the refusal without a path still never repeats torch's advice."""
    marker = tmp_path / "ran"
    path = evil_checkpoint(tmp_path, marker)
    try:
        torch.load(path, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - the real exception torch raises
        assert "weights_only" in str(exc)  # torch does suggest it...
        message, needs_action = describe_exception(exc)
    assert "weights_only" not in message and needs_action  # ...Glimpse never does
    assert not marker.exists()


def test_the_command_line_names_the_file_and_the_fix(tmp_path):
    marker = tmp_path / "ran"
    path = evil_checkpoint(tmp_path / "incoming", marker)
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "xdg"))
    out = subprocess.run([sys.executable, "-m", "ui.cli", "--offline", "--set",
                          f"models.cache_dir={tmp_path / 'store'}", "models", "import",
                          str(tmp_path / "incoming")], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 1
    lines = [line for line in out.stderr.splitlines() if line.startswith("glimpse:")]
    assert len(lines) == 1, out.stderr
    assert_refused(lines[0], path, marker)
