"""Random-weight VLMs of real architectures, built offline and seeded, for tests and benchmarks.

Tiny ones (2 layers, 64-px images) are saved as complete checkpoint folders and cached: the
engine is tested and benchmarked on the real transformers architectures (SmolVLM = Idefics3
family, Qwen2.5-VL) with no download. Everything a real checkpoint folder has
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

VERSION = "4"


def default_cache() -> Path:
    """Where the benchmark keeps its random-weight models (the user cache dir)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("glimpse")) / "random-vlms"

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


def _gpt2_tokenizer(specials: list[str], bos: str, eos: str, pad: str, extra: list[str]):
    """GPT-2's byte-level BPE (50,257 tokens, from openai-whisper's own files) with the model's
    special tokens: the real models' tokenizers are BPEs of the same size trained on English,
    so a question or an instruction is about as many tokens as with the real one (the small
    trained tokenizer above needs ~2.5 times more, which makes prefills look slower)."""
    import whisper
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter

    ranks = Path(whisper.__file__).parent / "assets" / "gpt2.tiktoken"
    gpt2 = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
    tok = PreTrainedTokenizerFast(
        tokenizer_object=TikTokenConverter(vocab_file=str(ranks), pattern=gpt2).converted())
    tok.add_special_tokens({"bos_token": bos, "eos_token": eos, "pad_token": pad,
                            "unk_token": pad, "additional_special_tokens": extra})
    tok.add_tokens([s for s in specials if s not in tok.get_vocab()], special_tokens=True)
    return tok


def _silence_specials(model, tokenizer) -> None:
    """Zero the output rows of special tokens and of ids the tokenizer does not have, so
    greedy decoding of random weights never ends early and always decodes to text."""
    import torch

    head = model.get_output_embeddings()
    with torch.no_grad():
        for token_id in tokenizer.all_special_ids:
            head.weight[token_id].zero_()
        if head.weight.shape[0] > len(tokenizer):
            head.weight[len(tokenizer):].zero_()


def _finish(folder: Path, tmp: Path) -> Path:
    (tmp / "GLIMPSE_TEST_MODEL").write_text("random-weight model built offline by Glimpse\n")
    if folder.exists():
        shutil.rmtree(folder)
    tmp.rename(folder)
    return folder


def _cached(name: str, cache: Path | None) -> tuple[Path, Path | None]:
    import transformers

    root = Path(cache) if cache is not None else default_cache()
    tag = hashlib.sha1(f"{name}-{VERSION}-{transformers.__version__}".encode()).hexdigest()[:10]
    folder = root / f"{name}-{tag}"
    if (folder / "GLIMPSE_TEST_MODEL").is_file():
        return folder, None
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{folder.name}.{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    return folder, tmp


# Architecture sizes. The big ones are the published dimensions of the real checkpoints
# (SmolVLM2-2.2B-Instruct: SigLIP-so400m/14 at 384 px + SmolLM2-1.7B; Qwen2.5-VL-3B-Instruct),
# written out here because the hub cannot be reached; their weights are random.
SMOLVLM_TINY = dict(
    vision=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                patch_size=16),
    text=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2),
    vocab_size=None, image_size=64, resize_edge=64, scale_factor=2, splitting=False, tie=False)
# SmolVLM2-500M-Video-Instruct (the Balanced (CPU) preset): SigLIP-base/16 at 512 px +
# SmolLM2-360M, 64 image tokens a tile (pixel shuffle 4), tied embeddings.
SMOLVLM2_500M = dict(
    vision=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                num_attention_heads=12, patch_size=16),
    text=dict(hidden_size=960, intermediate_size=2560, num_hidden_layers=32,
              num_attention_heads=15, num_key_value_heads=5, rope_theta=100000.0),
    vocab_size=49280, image_size=512, resize_edge=2048, scale_factor=4, splitting=True,
    tie=True)
SMOLVLM2_2B = dict(
    vision=dict(hidden_size=1152, intermediate_size=4304, num_hidden_layers=27,
                num_attention_heads=16, patch_size=14),
    text=dict(hidden_size=2048, intermediate_size=8192, num_hidden_layers=24,
              num_attention_heads=32, num_key_value_heads=32, rope_theta=130000.0),
    vocab_size=49280, image_size=384, resize_edge=1536, scale_factor=3, splitting=True,
    tie=False)
QWEN25VL_TINY = dict(
    vision=dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=64,
                window_size=56, fullatt_block_indexes=[1]),
    text=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2),
    mrope=[2, 3, 3], vocab_size=None, min_pixels=56 * 56, max_pixels=112 * 112, tie=False)
QWEN25VL_3B = dict(
    vision=dict(depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16,
                out_hidden_size=2048, window_size=112, fullatt_block_indexes=[7, 15, 23, 31]),
    text=dict(hidden_size=2048, intermediate_size=11008, num_hidden_layers=36,
              num_attention_heads=16, num_key_value_heads=2, rope_theta=1000000.0),
    mrope=[16, 24, 24], vocab_size=151936, min_pixels=56 * 56, max_pixels=28 * 28 * 1280,
    tie=True)
SIZES = {"smolvlm2-500m": ("smolvlm", SMOLVLM2_500M), "smolvlm2-2.2b": ("smolvlm", SMOLVLM2_2B), "qwen2.5-vl-3b": ("qwen25vl", QWEN25VL_3B),
         "smolvlm-tiny": ("smolvlm", SMOLVLM_TINY), "qwen2.5-vl-tiny": ("qwen25vl", QWEN25VL_TINY)}

SMOL_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<end_of_utterance>", "<image>",
                 "<fake_token_around_image>", "<global-img>"]
QWEN_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>",
                 "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"]


def processor_files(arch: str, dims: dict, folder: Path):
    """Write tokenizer, PIL image processor, processor config and chat template; return the
    tokenizer."""
    if arch == "smolvlm":
        from transformers.models.smolvlm.image_processing_pil_smolvlm import (
            SmolVLMImageProcessorPil,
        )

        make = _gpt2_tokenizer if dims["vocab_size"] else _tokenizer
        tok = make(SMOL_SPECIALS, "<|im_start|>", "<end_of_utterance>", "<|endoftext|>",
                   SMOL_SPECIALS[3:])
        template = SMOLVLM_TEMPLATE
        SmolVLMImageProcessorPil(
            do_image_splitting=dims["splitting"], size={"longest_edge": dims["resize_edge"]},
            max_image_size={"longest_edge": dims["image_size"]}).save_pretrained(folder)
        patch = dims["vision"]["patch_size"]
        seq_len = (dims["image_size"] // patch) ** 2 // dims["scale_factor"] ** 2
        settings = {"processor_class": "SmolVLMProcessor", "image_seq_len": seq_len}
    else:
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
            Qwen2VLImageProcessorPil,
        )

        make = _gpt2_tokenizer if dims["vocab_size"] else _tokenizer
        tok = make(QWEN_SPECIALS, "<|im_start|>", "<|im_end|>", "<|endoftext|>",
                   QWEN_SPECIALS[3:])
        template = QWEN_TEMPLATE
        Qwen2VLImageProcessorPil(min_pixels=dims["min_pixels"], max_pixels=dims["max_pixels"],
                                 patch_size=14, merge_size=2,
                                 temporal_patch_size=2).save_pretrained(folder)
        settings = {"processor_class": "Qwen2_5_VLProcessor"}
    tok.chat_template = template
    tok.save_pretrained(folder)
    (folder / "processor_config.json").write_text(json.dumps(settings))
    (folder / "chat_template.jinja").write_text(template)
    return tok


def make_model(arch: str, dims: dict, tok, layers: int | None = None, seed: int = 0):
    """The model with random (seeded) weights, built on torch's current default device and
    dtype. `layers` overrides the text and vision depth (for quick dry runs)."""
    import torch

    # The real vocabulary's size, or the tokenizer's where that is larger (GPT-2's BPE and the
    # specials: 50,264 ids for SmolVLM2's 49,280).
    vocab = max(dims["vocab_size"] or 0, len(tok))
    text = dict(dims["text"], vocab_size=vocab, max_position_embeddings=32768,
                bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                tie_word_embeddings=dims["tie"])
    vision = dict(dims["vision"])
    if layers:
        text["num_hidden_layers"] = layers
        vision["depth" if arch == "qwen25vl" else "num_hidden_layers"] = layers
        if arch == "qwen25vl":
            vision["fullatt_block_indexes"] = [layers - 1]
    torch.manual_seed(seed)
    if arch == "smolvlm":
        from transformers import SmolVLMConfig, SmolVLMForConditionalGeneration

        vision["image_size"] = dims["image_size"]
        text["model_type"] = "llama"
        config = SmolVLMConfig(vision_config=vision, text_config=text,
                               scale_factor=dims["scale_factor"],
                               image_token_id=tok.convert_tokens_to_ids("<image>"),
                               pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                               eos_token_id=tok.eos_token_id, tie_word_embeddings=dims["tie"])
        model = SmolVLMForConditionalGeneration(config)
    else:
        from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

        vision.update(patch_size=14, spatial_merge_size=2, temporal_patch_size=2)
        text["rope_scaling"] = {"type": "mrope", "mrope_section": dims["mrope"]}
        config = Qwen2_5_VLConfig(
            vision_config=vision, text_config=text,
            image_token_id=tok.convert_tokens_to_ids("<|image_pad|>"),
            video_token_id=tok.convert_tokens_to_ids("<|video_pad|>"),
            vision_start_token_id=tok.convert_tokens_to_ids("<|vision_start|>"),
            bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
            tie_word_embeddings=dims["tie"])
        model = Qwen2_5_VLForConditionalGeneration(config)
    _silence_specials(model, tok)
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    return model.eval()


def _saved(name: str, arch: str, dims: dict, cache: Path | None) -> Path:
    folder, tmp = _cached(name, cache)
    if tmp is None:
        return folder
    tok = processor_files(arch, dims, tmp)
    make_model(arch, dims, tok).save_pretrained(tmp)
    return _finish(folder, tmp)


def tiny_smolvlm(image_size: int = 64, cache: Path | None = None) -> Path:
    """A 2-layer SmolVLM (Idefics3 family: SigLIP vision + Llama text), patch 16, saved."""
    dims = dict(SMOLVLM_TINY, image_size=image_size, resize_edge=image_size)
    return _saved(f"smolvlm-tiny-{image_size}", "smolvlm", dims, cache)


def tiny_qwen25vl(cache: Path | None = None) -> Path:
    """A 2-layer Qwen2.5-VL (window-attention ViT + Qwen2 text with M-RoPE), saved."""
    return _saved("qwen25vl-tiny", "qwen25vl", QWEN25VL_TINY, cache)


def random_vlm(size: str, device: str, dtype, layers: int | None = None,
               cache: Path | None = None):
    """(folder with the processor files, model in memory on `device` in `dtype`) for one of
    SIZES. Building in memory avoids writing gigabytes of random weights to disk."""
    import torch

    arch, dims = SIZES[size]
    folder, tmp = _cached(f"{size}-processor", cache)
    if tmp is not None:
        processor_files(arch, dims, tmp)
        folder = _finish(folder, tmp)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            model = make_model(arch, dims, tok, layers=layers)
    finally:
        torch.set_default_dtype(previous)
    return folder, model
