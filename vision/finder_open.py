"""The open-vocabulary finder: OWLv2 / OWL-ViT boxes for any phrase, CLIP / SigLIP for
whole-picture yes/no and for photo search, through transformers, from the model store.

- `OpenVocabularyFinder` is a FinderEngine (`vision.finder`): the detector's boxes for the query
  above `box_threshold` become matches (non-maximum suppressed, so several mugs are counted);
  with no box, the ranker's yes/no ("a photo of a mug" against "a photo") decides whether the
  thing is in the picture at all, said as "I think" with the whole picture as its place.
- `ClipAnalyser` is a search analyser (`vision.search`): one unit image embedding per picture,
  ranked by cosine similarity with the query's text embedding.

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

from vision.finder import Box, FindResult, Match
from vision.perception import fit
from vision.search import Entry, Hit

PROMPT = "a photo of a {}"


def _resolve(model: str | Path, config: Any) -> Path:
    text = str(model)
    if text.startswith("hf:"):
        from vision.vlm import resolve_model

        return Path(resolve_model(text, config))
    path = Path(text).expanduser()
    if not (path / "config.json").is_file():
        from assistant.errors import ModelError

        raise ModelError(f"{path} is not a model folder (no config.json)",
                         "Give an hf: name or a folder saved with save_pretrained.")
    return path


def _device(wanted: str) -> str:
    import torch

    if wanted == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return wanted


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
        self.ranker: ClipAnalyser | None = None
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

        path = _resolve(self.detector_ref, self.config)
        self.device = _device(self.device_wanted)
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
            self.ranker = ClipAnalyser(self.ranker_ref, device=self.device_wanted,
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


class ClipAnalyser:
    """CLIP / SigLIP embeddings: a search analyser, and the finder's whole-picture yes/no."""

    def __init__(self, model: str | Path, *, device: str = "auto", config: Any = None,
                 batch: int = 16) -> None:
        self.model_ref, self.device_wanted, self.config = model, device, config
        self.batch = batch
        self.model = self.processor = self.tokenizer = None
        self.name = "clip"
        self.device = "cpu"

    @classmethod
    def from_config(cls, config: Any) -> "ClipAnalyser":
        return cls(config.finder.ranker, device=getattr(config.vlm, "device", "auto"),
                   config=config)

    def load(self) -> None:
        if self.model is not None:
            return
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        path = _resolve(self.model_ref, self.config)
        kind = AutoConfig.from_pretrained(path).model_type
        if kind == "siglip":
            from transformers import SiglipImageProcessor as Processor
        else:
            from transformers import CLIPImageProcessor as Processor
        self.name = kind  # the index keeps one analyser's rows apart from another's
        self.device = _device(self.device_wanted)
        self.processor = Processor.from_pretrained(path)
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).eval().to(self.device)

    def _features(self, output: Any) -> Any:
        # transformers 5 returns a model output; older versions a tensor.
        return getattr(output, "pooler_output", output)

    def embed_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        import torch

        self.load()
        out = []
        for start in range(0, len(images), self.batch):
            rgb = [fit(image, 1024)[:, :, ::-1] for image in images[start:start + self.batch]]
            pixels = self.processor(images=rgb, return_tensors="pt")["pixel_values"]
            with torch.inference_mode():
                feats = self._features(self.model.get_image_features(
                    pixel_values=pixels.to(self.device)))
            out.append(torch.nn.functional.normalize(feats.float(), dim=-1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, 0), np.float32)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        self.load()
        limit = self.model.config.text_config.max_position_embeddings
        tokens = self.tokenizer(list(texts), padding="max_length", truncation=True,
                                max_length=limit, return_tensors="pt")
        with torch.inference_mode():
            feats = self._features(self.model.get_text_features(
                input_ids=tokens["input_ids"].to(self.device),
                attention_mask=tokens["attention_mask"].to(self.device)))
        return torch.nn.functional.normalize(feats.float(), dim=-1).cpu().numpy()

    def yes_no(self, image: np.ndarray, query: str) -> float:
        """P("a photo of a mug") against P("a photo"), with the model's logit scale."""
        image_vec = self.embed_images([image])[0]
        scale = float(self.model.logit_scale.detach().exp().item())
        texts = self.embed_texts([PROMPT.format(query), "a photo"])
        logits = scale * (texts @ image_vec)
        e = np.exp(logits - logits.max())
        return float(e[0] / e.sum())

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
