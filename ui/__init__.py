"""The PySide6 window. Talks to the core only through `ui.bridge`."""
