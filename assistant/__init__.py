"""Glimpse: an on-device voice + vision assistant.

The `assistant` package is the core: events, stages, the pipeline, configuration, the model store
and the CLI. It never imports Qt; the window lives in `ui/` and talks to the core through one bridge.
"""

__version__ = "0.1.0"
