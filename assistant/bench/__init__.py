"""Benchmarks. Each module has `main(args) -> int`; `assistant.bench.report` writes the outputs."""
