"""Benchmarks. Each module has `main(args) -> int`; `ui.bench.report` writes the outputs."""
