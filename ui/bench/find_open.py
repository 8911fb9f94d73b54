"""The open-vocabulary finder's speed at real model sizes, for `glimpse bench find -- --open`.

No OWLv2 or CLIP weights can be downloaded everywhere the benchmark runs, but speed depends on
the architecture and its sizes, not on the values of the weights. So this builds, once, seeded
random-weight models with the sizes of the models `finder.detector` and `finder.ranker` name
(OWLv2 base patch16 at 960 px; CLIP ViT-B/32 at 224 px), saves them as checkpoint folders in
the user cache dir, and times the real finder code on them: the detector's pass per frame and
the CLIP yes/no and image embedding, on the GPU when there is one and on the CPU. Their answers
mean nothing; only the times are reported.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

VERSION = "1"
OWL_SIZES = dict(image_size=960, patch_size=16, hidden_size=768, intermediate_size=3072,
                 num_hidden_layers=12, num_attention_heads=12)
CLIP_VISION = dict(image_size=224, patch_size=32, hidden_size=768, intermediate_size=3072,
                   num_hidden_layers=12, num_attention_heads=12)
TEXT_SIZES = dict(hidden_size=512, intermediate_size=2048, num_hidden_layers=12,
                  num_attention_heads=8, max_position_embeddings=16)


def default_cache() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("glimpse")) / "random-finders" / VERSION


def _tokenizer(folder: Path):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<|endoftext|>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, show_progress=False, special_tokens=[
        "<|startoftext|>", "<|endoftext|>", "<pad>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(["a photo of a cup", "a photo of a cat", "keys", "exit sign",
                             "a taxi on a street", "a mug on a desk"] * 20, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|startoftext|>",
                                   eos_token="<|endoftext|>", pad_token="<pad>",
                                   unk_token="<|endoftext|>")
    fast.save_pretrained(folder)
    return fast


def _text(tok, shrink) -> dict[str, Any]:
    return dict(shrink(TEXT_SIZES), vocab_size=len(tok), eos_token_id=tok.eos_token_id,
                pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id)


def build(cache: Path | None = None, seed: int = 0, scale: int = 1) -> tuple[Path, Path]:
    """The two checkpoint folders (built on first use, then reused): OWLv2, CLIP. `scale` > 1
    divides widths and depths (a quick check of the code path, not a speed figure)."""
    def shrink(sizes: dict[str, int]) -> dict[str, int]:
        keep = ("image_size", "patch_size", "max_position_embeddings")
        return {k: v if k in keep else max(2, v // scale) for k, v in sizes.items()}

    import torch
    from transformers import (CLIPConfig, CLIPImageProcessor, CLIPModel, Owlv2Config,
                              Owlv2ForObjectDetection, Owlv2ImageProcessor)

    root = Path(cache or default_cache()) / f"scale-{scale}"
    owl, clip = root / "owlv2-base-patch16", root / "clip-vit-base-patch32"
    if not (owl / "config.json").is_file():
        owl.mkdir(parents=True, exist_ok=True)
        tok = _tokenizer(owl)
        torch.manual_seed(seed)
        Owlv2ForObjectDetection(Owlv2Config(text_config=_text(tok, shrink),
                                            vision_config=shrink(OWL_SIZES),
                                            projection_dim=512 // scale)).save_pretrained(owl)
        Owlv2ImageProcessor(size={"height": 960, "width": 960}).save_pretrained(owl)
    if not (clip / "config.json").is_file():
        clip.mkdir(parents=True, exist_ok=True)
        tok = _tokenizer(clip)
        torch.manual_seed(seed)
        CLIPModel(CLIPConfig(text_config=_text(tok, shrink), vision_config=shrink(CLIP_VISION),
                             projection_dim=512 // scale)).save_pretrained(clip)
        CLIPImageProcessor(size={"shortest_edge": 224},
                           crop_size={"height": 224, "width": 224}).save_pretrained(clip)
    return owl, clip


def measure(image, runs: int, devices: tuple[str, ...] | None = None, cache: Path | None = None,
            scale: int = 1) -> list[dict[str, Any]]:
    """Per device: the detector's pass (ms p50), CLIP yes/no and image embedding (ms p50)."""
    import torch

    from ui.bench.kit import report
    from vision.finder.open_vocab import OpenVocabularyFinder
    from vision.search.clip import ClipAnalyser

    owl, clip = build(cache, scale=scale)
    if devices is None:
        devices = ("cpu", "cuda") if torch.cuda.is_available() else ("cpu",)
    rows = []
    for device in devices:
        finder = OpenVocabularyFinder(owl, None, device=device)
        t0 = time.perf_counter()
        finder.load()
        load_s = time.perf_counter() - t0
        ranker = ClipAnalyser(clip, device=device)
        ranker.load()
        times: dict[str, list[float]] = {"detector": [], "clip_yes_no": [], "clip_embed": []}
        for name, fn in (("detector", lambda: finder.detect([image], ["cup"])),
                         ("clip_yes_no", lambda: ranker.yes_no(image, "cup")),
                         ("clip_embed", lambda: ranker.analyse(image))):
            fn()  # warm
            for _ in range(runs):
                t1 = time.perf_counter()
                fn()
                if device == "cuda":
                    torch.cuda.synchronize()
                times[name].append((time.perf_counter() - t1) * 1000)
        rows.append({"device": device, "load_s": round(load_s, 2),
                     **{f"{k}_ms_p50": round(report.pct(v, 50), 1) for k, v in times.items()}})
    return rows
