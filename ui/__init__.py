"""The shell: both user interfaces and what composes them.

- `ui.bootstrap`: the one place where real parts (or fakes) are wired into a pipeline.
- `ui.cli`: the `glimpse` command; `ui.bench`: its benchmarks (the `bench` extra).
- the window (`ui.app`, `ui.main_window`, dialogs) talks to the pipeline only through `ui.bridge`.

Nothing in the product imports `ui`.
"""
