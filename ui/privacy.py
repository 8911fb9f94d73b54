"""The privacy note Glimpse shows once, on its first run (command line and window alike).

`first_run_notice(config_dir)` returns the note (`privacy_note()`: it says where the history is
kept) the first time and records that it was shown with
a marker file in the config dir, so it returns None afterwards. Core code: no Qt here; the window
calls the same function and shows the text in a dialog.
"""
from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)

MARKER_NAME = "privacy-note-shown"

PRIVACY_NOTE = """\
Glimpse privacy note
  What Glimpse hears and sees stays on this computer: speech recognition, image descriptions
  and the voice all run here.
  Only two things use the network: a remote answer server, if you set one (vlm.backend =
  "remote" in the settings), receives your question and the camera picture; and a model that
  is not on this computer yet is downloaded from its hub (never with --offline).
  History: each finished turn (question, answer, timings, a small picture), from the window
  and from `glimpse ask`, `describe` and `find`, is kept on this computer in {history}.
  `glimpse history` shows it, `glimpse history clear` deletes it, --no-history keeps nothing of
  one run, and history.enabled = false keeps nothing on disk.
  This note is shown once."""


def privacy_note() -> str:
    """The note, with where the history is kept on this computer."""
    from assistant.config import data_dir
    from assistant.history import store_path

    return PRIVACY_NOTE.format(history=store_path(data_dir()))


def marker_path(config_dir: Path) -> Path:
    return Path(config_dir) / MARKER_NAME


def first_run_notice(config_dir: Path) -> str | None:
    """The privacy note if it has not been shown yet for this config dir, else None.

    Records the showing by creating `<config_dir>/privacy-note-shown`. When the marker cannot be
    written (read-only home), the note is still returned - showing it again next time is better
    than never showing it - and the reason is logged.
    """
    marker = marker_path(config_dir)
    if marker.exists():
        return None
    note = privacy_note()
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("The first-run privacy note was shown.\n", encoding="utf-8")
    except OSError as exc:
        log.warning("could not record that the privacy note was shown (%s); "
                    "it will be shown again next time", exc)
    return note
