"""The open-vocabulary finder: OWLv2 / OWL-ViT boxes for any phrase and CLIP / SigLIP for a
whole-picture yes/no, through transformers, from the model store.

`OpenVocabularyFinder` is a FinderEngine (`vision.finder.base`): the detector's boxes for the
query above `box_threshold` become matches (non-maximum suppressed, so several mugs are
counted); with no box, the ranker's yes/no (`vision.perception.clip`: "a photo of a mug" against
"a photo") decides whether the thing is in the picture at all, said as "I think" with the whole
picture as its place. Photo search uses the same CLIP model (`vision.search.clip`).

Models are `hf:` references (`[finder] detector`, `[finder] ranker`) resolved by the model store
like the VLM's, so offline mode and `glimpse models pull` work; a local folder works too. They
run on CUDA when there is one (`device="auto"`), else on the CPU. The PIL ("slow") image
processors are used: the fast ones need torchvision.

Threads: one caller at a time; `load()` on that thread. `detect()` checks `cancel` between
batches, so a watch or a turn that is cancelled stops within one batch.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from vision.finder.base import Box, FindResult, Match
from vision.perception.analyze import fit
from vision.perception.clip import PROMPT, Clip, model_folder, torch_device

def boxes_to_pixels(boxes_cxcywh: np.ndarray, width: int, height: int, padded: bool) -> np.ndarray:
    """OWL boxes (centre x, centre y, width, height; 0..1) to pixel (x0, y0, x1, y1).
    OWLv2 pads the picture to a square at the bottom/right, so its unit is the longer side;
    OWL-ViT stretches the picture to a square, so x is in widths and y in heights."""
    b = np.asarray(boxes_cxcywh, dtype=np.float64).reshape(-1, 4)
    sx, sy = (max(width, height),) * 2 if padded else (width, height)
    x0 = (b[:, 0] - b[:, 2] / 2) * sx
    y0 = (b[:, 1] - b[:, 3] / 2) * sy
    x1 = (b[:, 0] + b[:, 2] / 2) * sx
    y1 = (b[:, 1] + b[:, 3] / 2) * sy
    out = np.stack([x0, y0, x1, y1], axis=1)
    out[:, [0, 2]] = out[:, [0, 2]].clip(0, width)
    out[:, [1, 3]] = out[:, [1, 3]].clip(0, height)
    return out.round().astype(int)


def suppress(boxes: np.ndarray, scores: np.ndarray, iou: float = 0.3) -> list[int]:
    """Greedy non-maximum suppression: the indices kept, best first."""
    order = list(np.argsort(-scores))
    keep: list[int] = []
    while order:
        i = order.pop(0)
        keep.append(int(i))
        rest = []
        for j in order:
            xa, ya = max(boxes[i, 0], boxes[j, 0]), max(boxes[i, 1], boxes[j, 1])
            xb, yb = min(boxes[i, 2], boxes[j, 2]), min(boxes[i, 3], boxes[j, 3])
            inter = max(0, xb - xa) * max(0, yb - ya)
            union = (np.prod(boxes[i, 2:] - boxes[i, :2]) + np.prod(boxes[j, 2:] - boxes[j, :2])
                     - inter)
            if union <= 0 or inter / union <= iou:
                rest.append(j)
        order = rest
    return keep


class OpenVocabularyFinder:
    """OWLv2 / OWL-ViT detection plus an optional CLIP / SigLIP ranker."""

    name = "open"

    def __init__(self, detector: str | Path, ranker: str | Path | None = None, *,
                 device: str = "auto", box_threshold: float = 0.2, found: float = 0.4,
                 clip_threshold: float = 0.6, batch: int = 4, config: Any = None) -> None:
        self.detector_ref, self.ranker_ref = detector, ranker
        self.device_wanted = device
        self.box_threshold, self.found_at, self.clip_threshold = box_threshold, found, \
            clip_threshold
        self.batch = max(1, batch)
        self.config = config
        self.notes: list[str] = []
        self.detector = self.image_processor = self.tokenizer = None
        self.ranker: Clip | None = None
        self.padded = True
        self.device = "cpu"

    @classmethod
    def from_config(cls, config: Any) -> "OpenVocabularyFinder":
        device = getattr(config.vlm, "device", "auto")
        return cls(config.finder.detector, config.finder.ranker or None, device=device,
                   config=config)

    def load(self) -> None:
        if self.detector is not None:
            return
        from transformers import AutoConfig, AutoModelForZeroShotObjectDetection, AutoTokenizer

        path = model_folder(self.detector_ref, self.config)
        self.device = torch_device(self.device_wanted)
        model_type = AutoConfig.from_pretrained(path).model_type
        self.padded = model_type == "owlv2"
        if model_type == "owlv2":
            from transformers import Owlv2ImageProcessor as Processor
        else:
            from transformers import OwlViTImageProcessor as Processor
        self.image_processor = Processor.from_pretrained(path)
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.detector = AutoModelForZeroShotObjectDetection.from_pretrained(path).eval().to(
            self.device)
        if self.ranker_ref:
            self.ranker = Clip(self.ranker_ref, device=self.device_wanted,
                                       config=self.config)
            self.ranker.load()

    def detect(self, images: Sequence[np.ndarray], queries: Sequence[str], cancel: Any = None
               ) -> list[list[tuple[str, Box, float]]]:
        """Boxes for each picture: [(query, (x0, y0, x1, y1), score)], best first, above
        `box_threshold`, `batch` pictures per forward pass. Stops (returning what is done)
        when `cancel.cancelled` is set between batches."""
        import torch

        self.load()
        texts = [PROMPT.format(q) for q in queries]
        tokens = self.tokenizer(texts, padding="max_length", truncation=True,
                                max_length=self.detector.config.text_config.max_position_embeddings,
                                return_tensors="pt")
        out: list[list[tuple[str, Box, float]]] = []
        for start in range(0, len(images), self.batch):
            if cancel is not None and cancel.cancelled:
                break
            chunk = [fit(image) for image in images[start:start + self.batch]]
            rgb = [image[:, :, ::-1] for image in chunk]
            pixels = self.image_processor(images=rgb, return_tensors="pt")["pixel_values"]
            n = len(chunk)
            with torch.inference_mode():
                result = self.detector(
                    input_ids=tokens["input_ids"].repeat(n, 1).to(self.device),
                    attention_mask=tokens["attention_mask"].repeat(n, 1).to(self.device),
                    pixel_values=pixels.to(self.device))
            logits = result.logits.float().sigmoid().cpu().numpy()  # (n, patches, queries)
            boxes = result.pred_boxes.float().cpu().numpy()
            for k, image in enumerate(chunk):
                h, w = image.shape[:2]
                best_query = logits[k].argmax(axis=1)
                scores = logits[k].max(axis=1)
                pixels_k = boxes_to_pixels(boxes[k], w, h, self.padded)
                real = (pixels_k[:, 2] > pixels_k[:, 0]) & (pixels_k[:, 3] > pixels_k[:, 1])
                idx = np.flatnonzero((scores >= self.box_threshold) & real)
                kept = idx[suppress(pixels_k[idx], scores[idx])] if len(idx) else idx
                out.append([(queries[int(best_query[i])], tuple(int(v) for v in pixels_k[i]),
                             float(scores[i])) for i in kept])
        return out

    def find(self, image_bgr: np.ndarray, query: str, perception: Any = None) -> FindResult:
        if image_bgr is None or getattr(image_bgr, "size", 0) == 0:
            raise ValueError("empty image")
        image = fit(image_bgr)
        h, w = image.shape[:2]
        t0 = time.perf_counter()
        found = self.detect([image], [query])[0]
        timings = {"detector": (time.perf_counter() - t0) * 1000}
        matches = [Match(query, box, score, "detector") for _, box, score in found]
        best = max((m.score for m in matches), default=0.0)
        instead: tuple[str, ...] = ()
        if not matches and self.ranker is not None:
            t0 = time.perf_counter()
            yes = self.ranker.yes_no(image, query)
            timings["ranker"] = (time.perf_counter() - t0) * 1000
            if yes >= self.clip_threshold:
                matches = [Match(query, (0, 0, w, h), yes * self.found_at, "clip")]
                best = matches[0].score
        return FindResult(query=query, matches=tuple(matches), score=best, width=w, height=h,
                          found_at=self.found_at, engine=self.name, seen_instead=instead,
                          timings_ms=timings)
