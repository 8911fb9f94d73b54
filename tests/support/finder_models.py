"""Tiny random-weight OWLv2, OWL-ViT and CLIP models of the real architectures, built offline and
seeded, with a byte-level BPE tokenizer trained here (no hub access): for the open-vocabulary
finder's tests. Saved with save_pretrained, so the product loads them as it loads real ones."""
from __future__ import annotations

import json
from pathlib import Path

CORPUS = ["a photo of a mug", "a photo of a cat", "a photo of a dog", "a photo", "exit sign",
          "a photo of a rocket", "keys", "a cup of coffee", "taxi", "bicycle"] * 20


def _tokenizer(folder: Path):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<|endoftext|>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=[
        "<|startoftext|>", "<|endoftext|>", "<pad>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|startoftext|>",
                                   eos_token="<|endoftext|>", pad_token="<pad>",
                                   unk_token="<|endoftext|>")
    fast.save_pretrained(folder)
    return fast


def _text_vision(tok, image_size: int, patch: int) -> tuple[dict, dict]:
    text = dict(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                num_attention_heads=2, max_position_embeddings=16,
                eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                bos_token_id=tok.bos_token_id)
    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                  num_attention_heads=2, image_size=image_size, patch_size=patch)
    return text, vision


def tiny_owl(folder: Path, kind: str = "owlv2", seed: int = 0, image_size: int = 64) -> Path:
    import torch
    from transformers import (Owlv2Config, Owlv2ForObjectDetection, Owlv2ImageProcessor,
                              OwlViTConfig, OwlViTForObjectDetection, OwlViTImageProcessor)

    if (folder / "config.json").is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    tok = _tokenizer(folder)
    text, vision = _text_vision(tok, image_size, 16)
    torch.manual_seed(seed)
    if kind == "owlv2":
        model = Owlv2ForObjectDetection(Owlv2Config(text_config=text, vision_config=vision,
                                                    projection_dim=32))
        processor = Owlv2ImageProcessor(size={"height": image_size, "width": image_size})
    else:
        model = OwlViTForObjectDetection(OwlViTConfig(text_config=text, vision_config=vision,
                                                      projection_dim=32))
        processor = OwlViTImageProcessor(size={"height": image_size, "width": image_size},
                                         crop_size={"height": image_size, "width": image_size})
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def tiny_clip(folder: Path, seed: int = 0, image_size: int = 64) -> Path:
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    if (folder / "config.json").is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    tok = _tokenizer(folder)
    text, vision = _text_vision(tok, image_size, 16)
    torch.manual_seed(seed)
    model = CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=32))
    model.save_pretrained(folder)
    CLIPImageProcessor(size={"shortest_edge": image_size},
                       crop_size={"height": image_size, "width": image_size}
                       ).save_pretrained(folder)
    (folder / "tiny.json").write_text(json.dumps({"seed": seed}))
    return folder
