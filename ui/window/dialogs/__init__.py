"""The window's dialogs: settings, models, find in history, help and the first-run guide."""
