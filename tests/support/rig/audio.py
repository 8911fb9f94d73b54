"""The virtual audio rig. `glimpse bench` runs on it too, so it lives with the benchmarks
(`ui.bench.kit.rig`); tests import it from here."""
from ui.bench.kit.rig import Recording, RigError, VirtualAudio, correlation  # noqa: F401
