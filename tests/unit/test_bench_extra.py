"""Benchmarks and their heavy dependencies stay out of a plain install."""
from __future__ import annotations

import subprocess
import sys
import tomllib
from tests.support import ROOT


def test_runtime_dependencies_have_no_benchmark_libraries():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = " ".join(project["dependencies"]).lower()
    for heavy in ("matplotlib", "scikit-image", "jiwer"):
        assert heavy not in runtime
        assert any(heavy in dep for dep in project["optional-dependencies"]["bench"])


def test_bench_without_the_extra_says_how_to_install_it():
    # A None entry in sys.modules is how Python blocks an import: as if matplotlib were absent.
    code = ("import sys; sys.modules['matplotlib'] = None; from ui.cli import main; "
            "raise SystemExit(main(['bench', 'asr']))")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 1, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.startswith("glimpse:")]
    assert lines and "bench extra" in lines[-1] and "matplotlib" in lines[-1]
    assert 'pip install "glimpse-assistant[bench]"' in run.stderr
