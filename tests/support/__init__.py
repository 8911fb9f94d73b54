"""What the tests share: fakes for every port (`fakes`), waiting on pipeline events (`events`),
running a session script in a subprocess (`sessions`), real weights and tiny random-weight
models (`whisper`, `vlm`, `finder_models`), a loopback HTTP server (`loopback_http`), the
window's fake pipeline (`window`) and the real-device rig (`rig/`). No test module imports
another test module; they import from here."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
