"""CLIP / SigLIP through transformers: unit embeddings of pictures and of texts, and a
whole-picture yes/no ("a photo of a mug" against "a photo"). The open-vocabulary finder uses
the yes/no (`vision.finder.open_vocab`), photo search the embeddings (`vision.search.clip`).

The model is an `hf:` reference or a local folder, resolved by the model store; it runs on CUDA
when there is one (`device="auto"`), else on the CPU, with the PIL ("slow") image processors
(the fast ones need torchvision). Threads: one caller at a time; `load()` on that thread.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from vision.perception.analyze import fit

PROMPT = "a photo of a {}"


def model_folder(model: str | Path, config: Any) -> Path:
    """The local folder of a transformers model: `hf:owner/name[@revision]` through the model
    store (offline mode and `glimpse models pull` apply), or a folder with config.json."""
    text = str(model)
    if text.startswith("hf:"):
        from assistant.models.store import ModelStore

        return ModelStore(config).hf_folder(text)
    path = Path(text).expanduser()
    if not (path / "config.json").is_file():
        from assistant.errors import ModelError

        raise ModelError(f"{path} is not a model folder (no config.json)",
                         "Give an hf: name or a folder saved with save_pretrained.")
    return path


def torch_device(wanted: str) -> str:
    """"auto": CUDA when there is a GPU, else the CPU; anything else as it is."""
    import torch

    if wanted == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return wanted


class Clip:
    """CLIP / SigLIP: unit image and text embeddings, and a whole-picture yes/no."""

    def __init__(self, model: str | Path, *, device: str = "auto", config: Any = None,
                 batch: int = 16) -> None:
        self.model_ref, self.device_wanted, self.config = model, device, config
        self.batch = batch
        self.model = self.processor = self.tokenizer = None
        self.name = "clip"
        self.device = "cpu"

    @classmethod
    def from_config(cls, config: Any) -> "Clip":
        return cls(config.finder.ranker, device=getattr(config.vlm, "device", "auto"),
                   config=config)

    def load(self) -> None:
        if self.model is not None:
            return
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        path = model_folder(self.model_ref, self.config)
        kind = AutoConfig.from_pretrained(path).model_type
        if kind == "siglip":
            from transformers import SiglipImageProcessor as Processor
        else:
            from transformers import CLIPImageProcessor as Processor
        self.name = kind  # the index keeps one analyser's rows apart from another's
        self.device = torch_device(self.device_wanted)
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
