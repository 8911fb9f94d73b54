"""Test support for the VLM engine: tiny random-weight models and an OpenAI-protocol server.

The tiny models are built by `ui.bench.kit.vlm_models` (the benchmark uses the same ones);
tests cache them under ~/.cache/glimpse-test.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from ui.bench.kit import vlm_models

CACHE = Path(os.environ.get("GLIMPSE_TEST_CACHE", Path.home() / ".cache" / "glimpse-test"))


def tiny_smolvlm(image_size: int = 64) -> Path:
    """A 2-layer SmolVLM (Idefics3 family: SigLIP vision + Llama text), patch 16, seeded."""
    return vlm_models.tiny_smolvlm(image_size, cache=CACHE)


def tiny_qwen25vl() -> Path:
    """A 2-layer Qwen2.5-VL (window-attention ViT + Qwen2 text with M-RoPE), seeded."""
    return vlm_models.tiny_qwen25vl(cache=CACHE)


# --------------------------------------------------------------------------- an OpenAI server


class OpenAIProtocolServer:
    """A recorded-protocol OpenAI-compatible server on 127.0.0.1 (http.server, a thread).

    It speaks the exact wire format of `POST /v1/chat/completions` with `stream: true` as the
    OpenAI API sends it (and vLLM, Ollama, llama.cpp and LM Studio copy): `data: {chunk}` lines
    of `chat.completion.chunk` objects separated by blank lines, a first delta with the role,
    content deltas, a last delta with `finish_reason`, then `data: [DONE]`; errors are JSON
    bodies `{"error": {"message", "type", "param", "code"}}` with the HTTP status. It is not a
    model: the answer is `words` (one chunk each).

    `mode`: "ok", "slow" (`delay` seconds before each chunk, and `pause` = (i, seconds) more
    before chunk i), "hang" (accepts and never answers), "error" (`status` and `message`), "midstream-error" (an error event after two
    chunks). Every request is recorded in `requests` (path, headers, parsed JSON body);
    `client_gone` is set when a write fails because the client closed the connection.
    """

    def __init__(self, words=("The", " sign", " says", " STOP", "."), mode: str = "ok",
                 delay: float = 0.0, status: int = 401, message: str = "",
                 pause: tuple[int, float] = (-1, 0.0)) -> None:
        import http.server
        import threading

        self.words, self.mode, self.delay, self.pause = list(words), mode, delay, pause
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
                        wait = server.delay + (server.pause[1] if i == server.pause[0] else 0.0)
                        if wait and self._pause(wait):
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

            def _pause(self, seconds: float) -> bool:
                """Wait `seconds` before the next chunk, watching the connection: True (stop
                sending) at close() or once the client has hung up (`client_gone` set)."""
                import select
                import socket

                deadline = time.monotonic() + seconds
                while (left := deadline - time.monotonic()) > 0:
                    if server.release.is_set():
                        return True
                    readable, _, _ = select.select([self.connection], [], [], min(left, 0.05))
                    if readable and not self.connection.recv(1, socket.MSG_PEEK):
                        server.client_gone.set()  # an orderly close: EOF on the socket
                        return True
                return server.release.is_set()

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
