"""Tiny random-weight VLMs of real architectures, built offline, seeded, cached on disk.

No vision-language model ships in any package we can install, and model hubs are unreachable
in tests, so the engine is tested on the real transformers architectures (SmolVLM = Idefics3
family, Qwen2.5-VL) with tiny sizes and random weights. Everything a real checkpoint folder has
is written: config.json, safetensors weights, tokenizer.json (a byte-level BPE trained here with
`tokenizers`), the PIL image processor's preprocessor_config.json, processor_config.json and the
chat template; the engine loads them exactly as it loads a downloaded model.

The rows of the output layer for special tokens (end of utterance, padding, image tokens) are
zeroed, so greedy decoding never stops early: every answer is exactly max_new_tokens long.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

CACHE = Path(os.environ.get("GLIMPSE_TEST_CACHE", Path.home() / ".cache" / "glimpse-test"))
VERSION = "2"

CORPUS = [
    "What is in the picture? A man is ironing clothes on the back of a yellow taxi.",
    "The sign says STOP. There is a person at two o'clock and a step ahead.",
    "Read the text. Describe the scene for a blind person. I think it is a street.",
    "User: Assistant: System: question answer image photo camera left right near far",
]

SMOLVLM_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}"
    "{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}"
    "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}"
    "{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}"
    "<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}")

QWEN_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for content in message['content'] %}{% if content['type'] == 'image' %}"
    "<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] == 'text' %}"
    "{{ content['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def _tokenizer(specials: list[str], bos: str, eos: str, pad: str, extra: list[str]):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=500, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS * 4, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=bos, eos_token=eos,
                                   pad_token=pad, unk_token=pad,
                                   additional_special_tokens=extra)


def _silence_specials(model, tokenizer) -> None:
    import torch

    head = model.get_output_embeddings()
    with torch.no_grad():
        for token_id in tokenizer.all_special_ids:
            head.weight[token_id].zero_()


def _finish(folder: Path, tmp: Path) -> Path:
    (tmp / "GLIMPSE_TEST_MODEL").write_text("tiny random-weight model built by tests\n")
    if folder.exists():
        shutil.rmtree(folder)
    tmp.rename(folder)
    return folder


def _cached(name: str) -> tuple[Path, Path | None]:
    import transformers

    tag = hashlib.sha1(f"{name}-{VERSION}-{transformers.__version__}".encode()).hexdigest()[:10]
    folder = CACHE / f"{name}-{tag}"
    if (folder / "GLIMPSE_TEST_MODEL").is_file():
        return folder, None
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = CACHE / f".{folder.name}.{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    return folder, tmp


def tiny_smolvlm(image_size: int = 64) -> Path:
    """A 2-layer SmolVLM (Idefics3 family: SigLIP vision + Llama text), patch 16."""
    folder, tmp = _cached(f"smolvlm-tiny-{image_size}")
    if tmp is None:
        return folder
    import torch
    from transformers import SmolVLMConfig, SmolVLMForConditionalGeneration
    from transformers.models.smolvlm.image_processing_pil_smolvlm import (
        SmolVLMImageProcessorPil,
    )

    specials = ["<|endoftext|>", "<|im_start|>", "<end_of_utterance>", "<image>",
                "<fake_token_around_image>", "<global-img>"]
    tok = _tokenizer(specials, "<|im_start|>", "<end_of_utterance>", "<|endoftext|>",
                     specials[3:])
    tok.chat_template = SMOLVLM_TEMPLATE
    tok.save_pretrained(tmp)
    SmolVLMImageProcessorPil(do_image_splitting=False, size={"longest_edge": image_size},
                             max_image_size={"longest_edge": image_size}).save_pretrained(tmp)
    patch, scale = 16, 2
    seq_len = (image_size // patch) ** 2 // scale ** 2
    (tmp / "processor_config.json").write_text(json.dumps(
        {"processor_class": "SmolVLMProcessor", "image_seq_len": seq_len}))
    (tmp / "chat_template.jinja").write_text(SMOLVLM_TEMPLATE)
    torch.manual_seed(0)
    config = SmolVLMConfig(
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                           num_attention_heads=2, image_size=image_size, patch_size=patch),
        text_config=dict(model_type="llama", vocab_size=len(tok), hidden_size=64,
                         intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, max_position_embeddings=4096,
                         tie_word_embeddings=False),
        scale_factor=scale, image_token_id=tok.convert_tokens_to_ids("<image>"),
        pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id, tie_word_embeddings=False)
    model = SmolVLMForConditionalGeneration(config)
    _silence_specials(model, tok)
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    model.save_pretrained(tmp)
    return _finish(folder, tmp)


def tiny_qwen25vl() -> Path:
    """A 2-layer Qwen2.5-VL (window-attention ViT + Qwen2 text with M-RoPE), patch 14."""
    folder, tmp = _cached("qwen25vl-tiny")
    if tmp is None:
        return folder
    import torch
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>",
                "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"]
    tok = _tokenizer(specials, "<|im_start|>", "<|im_end|>", "<|endoftext|>", specials[3:])
    tok.chat_template = QWEN_TEMPLATE
    tok.save_pretrained(tmp)
    Qwen2VLImageProcessorPil(min_pixels=56 * 56, max_pixels=112 * 112, patch_size=14,
                             merge_size=2, temporal_patch_size=2).save_pretrained(tmp)
    (tmp / "processor_config.json").write_text(json.dumps(
        {"processor_class": "Qwen2_5_VLProcessor"}))
    (tmp / "chat_template.jinja").write_text(QWEN_TEMPLATE)
    torch.manual_seed(0)
    config = Qwen2_5_VLConfig(
        vision_config=dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2,
                           out_hidden_size=64, patch_size=14, spatial_merge_size=2,
                           temporal_patch_size=2, window_size=56, fullatt_block_indexes=[1]),
        text_config=dict(vocab_size=len(tok), hidden_size=64, intermediate_size=128,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=4096,
                         rope_scaling={"type": "mrope", "mrope_section": [2, 3, 3]},
                         bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                         tie_word_embeddings=False),
        image_token_id=tok.convert_tokens_to_ids("<|image_pad|>"),
        video_token_id=tok.convert_tokens_to_ids("<|video_pad|>"),
        vision_start_token_id=tok.convert_tokens_to_ids("<|vision_start|>"),
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, tie_word_embeddings=False)
    model = Qwen2_5_VLForConditionalGeneration(config)
    _silence_specials(model, tok)
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    model.save_pretrained(tmp)
    return _finish(folder, tmp)
