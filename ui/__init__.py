"""The shell: both user interfaces and what composes them.

- `ui.bootstrap`: the one place where real parts (or fakes) are wired into a pipeline.
- `ui.cli`: the `glimpse` command; `ui.bench`: its benchmarks (the `bench` extra), which only
  `ui.cli.bench` imports.
- `ui.window`: the Qt window; the only place Qt is imported, and it talks to the pipeline only
  through `ui.window.bridge`.
- Plain modules both interfaces share: `presets`, `labels` (the plain-words table), `privacy`,
  `desktop` (the menu entry).

Nothing in the product imports `ui`.
"""
