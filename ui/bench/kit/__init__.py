"""What the benchmarks share, and the tests use as well: the virtual audio rig (`rig`), the
calibration figure (`calibrate`), report output (`report`), scores (`scoring`), printed pages
with known text (`read_pages`) and random-weight models of real architectures (`vlm_models`,
`gpu_models`). Imports nothing of `ui.bench` outside `kit/` and nothing of `ui.cli`."""
from pathlib import Path

#: The repository's test media (the benchmarks run from a source checkout).
TEST_DATA = Path(__file__).resolve().parents[3] / "tests" / "data"
