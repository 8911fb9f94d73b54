"""A saved conversation with real pictures, for the history search tests (the index, the
command line and the window's Find in history)."""
from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from assistant.history import HistoryStore, TurnRecord, store_path, thumbnail_jpeg
from tests.support import DATA

TURNS = [  # (turn, picture, question, answer)
    (1, "astronaut", "Describe the scene.", "One person, at twelve o'clock."),
    (2, "coffee", "What is this?", "It looks like an espresso."),
    (3, "extreme_ironing.jpg", "What do you see?", "Two people, at eleven and one o'clock."),
    (4, "chelsea", "What is on the sofa?", "I think it shows a tabby."),
    (5, None, "Where did I leave my keys?", "I don't see keys. I see a table."),
]


def picture(name: str) -> np.ndarray:
    """A file of tests/data, or a scikit-image sample photo by name, as BGR at its own size."""
    import skimage.data

    if name.endswith(".jpg"):
        return cv2.imread(str(DATA / name))
    return cv2.cvtColor(getattr(skimage.data, name)(), cv2.COLOR_RGB2BGR)


def save_turns(data: Path, session: str) -> None:
    """Write TURNS, with the 160 px thumbnails the history keeps, to the store in `data`."""
    store = HistoryStore(store_path(data))
    now = time.time()
    for turn, name, question, answer in TURNS:
        store.append(TurnRecord(turn_id=turn, started=now - 100 + turn, question=question,
                                answer=answer, session=session,
                                thumbnail=thumbnail_jpeg(picture(name)) if name else None))
    store.close()
