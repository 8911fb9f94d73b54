"""The real-device test rig: a private PulseAudio server (virtual mic and speaker), cameras from
video files and UDP streams, and Xvfb. Tests start and clean up everything themselves."""
from __future__ import annotations

import os

import pytest


def unavailable(reason: str) -> None:
    """Skip with a reason on a developer's desktop; fail in CI (GLIMPSE_REQUIRE_RIG=1)."""
    if os.environ.get("GLIMPSE_REQUIRE_RIG") == "1":
        pytest.fail(f"test rig unavailable (required here): {reason}")
    pytest.skip(f"test rig unavailable: {reason}")
