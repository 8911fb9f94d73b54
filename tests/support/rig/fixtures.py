"""pytest fixtures for the rig; loaded by tests/conftest.py."""
from __future__ import annotations

import pytest

from tests.support.rig import unavailable
from tests.support.rig.audio import RigError, VirtualAudio


@pytest.fixture(scope="session")
def virtual_audio():
    """A running private PulseAudio server (virtual mic + speaker) for the whole session."""
    audio = VirtualAudio()
    try:
        audio.start()
    except RigError as exc:
        unavailable(str(exc))
    yield audio
    audio.stop()
