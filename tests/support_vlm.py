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


# --------------------------------------------------------------------------- an OpenAI server


class OpenAIProtocolServer:
    """A recorded-protocol OpenAI-compatible server on 127.0.0.1 (http.server, a thread).

    It speaks the exact wire format of `POST /v1/chat/completions` with `stream: true` as the
    OpenAI API sends it (and vLLM, Ollama, llama.cpp and LM Studio copy): `data: {chunk}` lines
    of `chat.completion.chunk` objects separated by blank lines, a first delta with the role,
    content deltas, a last delta with `finish_reason`, then `data: [DONE]`; errors are JSON
    bodies `{"error": {"message", "type", "param", "code"}}` with the HTTP status. It is not a
    model: the answer is `words` (one chunk each).

    `mode`: "ok", "slow" (`delay` seconds before each chunk), "hang" (accepts and never
    answers), "error" (`status` and `message`), "midstream-error" (an error event after two
    chunks). Every request is recorded in `requests` (path, headers, parsed JSON body);
    `client_gone` is set when a write fails because the client closed the connection.
    """

    def __init__(self, words=("The", " sign", " says", " STOP", "."), mode: str = "ok",
                 delay: float = 0.0, status: int = 401, message: str = "") -> None:
        import http.server
        import threading

        self.words, self.mode, self.delay = list(words), mode, delay
        self.status, self.message = status, message
        self.requests: list[dict] = []
        self.client_gone = threading.Event()
        self.release = threading.Event()  # ends "hang" and "slow" early at close()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):  # keep test output clean
                return

            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                server.requests.append({"path": self.path, "headers": dict(self.headers),
                                        "body": json.loads(raw or b"{}")})
                if server.mode == "hang":
                    server.release.wait(60)
                    return
                if server.mode == "error":
                    self._json(server.status, {"error": {
                        "message": server.message, "type": "invalid_request_error",
                        "param": None, "code": "invalid_api_key"}})
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    self._sse(server._chunk({"role": "assistant", "content": ""}, None))
                    for i, word in enumerate(server.words):
                        if server.delay and server.release.wait(server.delay):
                            return
                        if server.mode == "midstream-error" and i == 2:
                            self._sse(json.dumps({"error": {"message": "model crashed",
                                                            "type": "server_error"}}))
                            break
                        self._sse(server._chunk({"content": word}, None))
                    self._sse(server._chunk({}, "stop"))
                    self._sse("[DONE]")
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    server.client_gone.set()

            def _sse(self, data: str) -> None:
                payload = f"data: {data}\n\n".encode()
                self.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
                self.wfile.flush()

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="openai-server",
                                        daemon=True)

    def _chunk(self, delta: dict, finish: str | None) -> str:
        return json.dumps({"id": "chatcmpl-test", "object": "chat.completion.chunk",
                           "created": 1700000000, "model": "test-vlm",
                           "system_fingerprint": "fp_test",
                           "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                        "finish_reason": finish}]})

    def __enter__(self) -> "OpenAIProtocolServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)
