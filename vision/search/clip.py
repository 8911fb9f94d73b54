"""Photo search on CLIP / SigLIP (when `finder.engine` chooses "open"): one unit image embedding per picture,
ranked by cosine similarity with the query's text embedding. The model is the open-vocabulary
finder's ranker (`vision.perception.clip.Clip`)."""
from __future__ import annotations

import numpy as np

from vision.perception.clip import PROMPT, Clip
from vision.search.photos import Entry, Hit


class ClipAnalyser(Clip):
    """A search analyser (`vision.search.photos`) on a CLIP / SigLIP model."""

    def analyse(self, image_bgr: np.ndarray) -> Entry:
        h, w = image_bgr.shape[:2]
        return Entry({}, "", self.embed_images([image_bgr])[0], w, h)

    def rank(self, query: str, rows: list[tuple[str, Entry]]) -> list[Hit]:
        if not rows:
            return []
        text = self.embed_texts([PROMPT.format(query)])[0]
        matrix = np.stack([entry.embedding for _, entry in rows])
        scores = matrix @ text
        order = np.argsort(-scores)
        return [Hit(rows[i][0], float(scores[i]), f"image-text similarity {scores[i]:.3f}")
                for i in order]
