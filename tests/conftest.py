import os
import tempfile
import threading

import numpy as np
import pytest

# Tests never read the user's real config or models.
os.environ.setdefault("GLIMPSE_CONFIG_DIR", "/nonexistent-glimpse-config")
# ...and never write the user's history (each test also gets a data folder of its own below).
os.environ.setdefault("GLIMPSE_DATA_DIR", tempfile.mkdtemp(prefix="glimpse-test-data-"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pytest_configure(config):
    config.addinivalue_line("markers", "gpu: needs a CUDA GPU (skipped with a reason otherwise)")
    config.addinivalue_line("markers", "system: uses the real-device rig (audio server, Xvfb)")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")


@pytest.fixture(autouse=True)
def own_data_dir(tmp_path_factory, monkeypatch):
    """A fresh user data folder per test: one test's history never shows up in another."""
    monkeypatch.setenv("GLIMPSE_DATA_DIR", str(tmp_path_factory.mktemp("data")))


@pytest.fixture(autouse=True)
def seeded_speech():
    """Piper's voice draws VITS noise from ONNX Runtime's generator, so the same sentence sounds
    a little different in every process. Seeded per test, a session made in the test speaks
    the same way in every run, and a listener's transcript of it does not change."""
    try:
        import onnxruntime
    except ImportError:
        return
    onnxruntime.set_seed(20261203)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def no_thread_leak():
    before = set(threading.enumerate())
    yield
    left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert not left, f"threads left running: {[t.name for t in left]}"


pytest_plugins = ["tests.support.rig.fixtures"]
