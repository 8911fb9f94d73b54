"""Glimpse: an on-device voice + vision assistant.

The `assistant` package is the kernel every part builds on: events, stages, ports, errors,
configuration, the pipeline and the model store. It imports nothing of the project above it
(`audio/`, `vision/`, `ui/`) and never imports Qt; docs/architecture.md draws the layers.
"""

__version__ = "0.1.0"
