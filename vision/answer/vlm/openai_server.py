"""The remote VLM backend: any OpenAI-compatible `/v1/chat/completions` server.

vLLM, Ollama, llama.cpp's `llama-server`, LM Studio and the OpenAI API itself all speak this
protocol. The frame goes as a base64 JPEG data URL in an `image_url` content part; the answer
streams back as server-sent events (`stream: true`): `data: {chunk}` lines whose
`choices[0].delta.content` carry the text, ended by `data: [DONE]`.

Only the standard library is used (http.client). Threads: `stream()` runs on the caller's thread
(the answer stage); while a response is open a small watcher thread polls the CancelToken every
20 ms and shuts the socket down on a cancel, so a blocked read returns at once and the server
sees the client go away.

The API key is read from the environment variable named by `vlm.remote_api_key_env` at each
request. It is sent only in the Authorization header and never appears in logs or error
messages (any echo of it in a server's error text is masked).
"""
from __future__ import annotations

import base64
import http.client
import json
import logging
import os
import socket
import ssl
import threading
from typing import Any, Iterator, Mapping
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from assistant.errors import ConfigError, GlimpseError
from assistant.ports import VlmEngine, VlmRequest
from assistant.stage import CancelToken

log = logging.getLogger(__name__)

KNOWN_SERVERS = ("vLLM (http://host:8000/v1), Ollama (http://localhost:11434/v1), llama.cpp "
                 "llama-server (http://localhost:8080/v1), LM Studio (http://localhost:1234/v1)")


class RemoteError(GlimpseError):
    """The remote server could not be reached, timed out, or refused the request."""


def safe_url(url: str) -> str:
    """The URL without any user:password part (for messages and logs)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def jpeg_data_url(image_bgr: np.ndarray, max_pixels: int, quality: int = 85) -> str:
    """A BGR frame as a `data:image/jpeg;base64,...` URL, downscaled to `max_pixels` first."""
    import cv2

    h, w = image_bgr.shape[:2]
    if w * h > max_pixels:
        scale = (max_pixels / (w * h)) ** 0.5
        image_bgr = cv2.resize(image_bgr, (max(1, int(w * scale)), max(1, int(h * scale))),
                               interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", image_bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RemoteError("The camera frame could not be encoded as JPEG",
                          "Check the camera source")
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


def build_messages(request: VlmRequest, verbosity: str, max_pixels: int) -> list[dict[str, Any]]:
    """OpenAI chat messages: instructions as the system message, the image with the first
    question, then the earlier turns and the new question."""
    from vision.answer.vlm.prompts import grounding_block, instructions

    system = instructions(request.mode, verbosity)
    if request.language and request.language != "en":
        system += f"\nAnswer in the language with code '{request.language}'."
    first_q = request.history[0][0] if request.history else request.question
    text = "\n\n".join(p for p in (grounding_block(request.grounding), first_q.strip()) if p)
    content: list[dict[str, Any]] = [{"type": "text", "text": text or "Describe the picture."}]
    if request.frame is not None:
        content.append({"type": "image_url",
                        "image_url": {"url": jpeg_data_url(request.frame.image, max_pixels)}})
    messages: list[dict[str, Any]] = [{"role": "system", "content": system},
                                      {"role": "user", "content": content}]
    if request.history:
        messages.append({"role": "assistant", "content": request.history[0][1]})
        for question, answer in request.history[1:]:
            messages.append({"role": "user", "content": question})
            messages.append({"role": "assistant", "content": answer})
        messages.append({"role": "user", "content": request.question})
    return messages


class RemoteVlm(VlmEngine):
    """A VlmEngine that asks an OpenAI-compatible server. See the module docstring.

    `timeout_s`: the longest wait to connect and between two pieces of the answer.
    `environ`: where the API key variable is read (default os.environ).
    """

    name = "remote"

    def __init__(self, url: str, model: str = "", *, api_key_env: str = "GLIMPSE_API_KEY",
                 timeout_s: float = 30.0, max_image_pixels: int = 512 * 512,
                 max_new_tokens: int = 200, verbosity: str = "normal",
                 environ: Mapping[str, str] | None = None) -> None:
        self.url = url.strip()
        self.model = model.strip()
        self.api_key_env = api_key_env
        self.timeout_s = timeout_s
        self.max_image_pixels = max_image_pixels
        self.max_new_tokens = max_new_tokens
        self.verbosity = verbosity
        self._environ = environ
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"vlm.remote_url '{safe_url(self.url) or self.url}' is not an "
                              "http(s) URL", "Use e.g. " + KNOWN_SERVERS)
        self._parts = parts
        path = parts.path.rstrip("/")
        if not path.endswith("/chat/completions"):
            path = (path or "/v1") + "/chat/completions"
        self._path = path
        self.shown_url = safe_url(self.url)
        self.name = f"remote:{self.model or parts.hostname}"

    def load(self) -> None:
        """Nothing to load; the server is first contacted by the first question."""

    # ----- the request --------------------------------------------------------------------
    def _key(self) -> str:
        env = self._environ if self._environ is not None else os.environ
        return (env.get(self.api_key_env) or "").strip() if self.api_key_env else ""

    def _mask(self, text: str, key: str) -> str:
        if key:
            text = text.replace(key, "***")
            if len(key) > 8:  # servers often echo a shortened key: "sk-abc...wxyz"
                text = text.replace(key[:8], "***").replace(key[-4:], "***")
        return text

    def _connect(self) -> http.client.HTTPConnection:
        host, port = self._parts.hostname, self._parts.port
        if self._parts.scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=self.timeout_s,
                                               context=ssl.create_default_context())
        return http.client.HTTPConnection(host, port, timeout=self.timeout_s)

    def body(self, request: VlmRequest) -> dict[str, Any]:
        """The JSON request body for a question (no key in it)."""
        body: dict[str, Any] = {
            "messages": build_messages(request, self.verbosity, self.max_image_pixels),
            "stream": True,
            "max_tokens": max(1, min(request.max_new_tokens, self.max_new_tokens)),
            "temperature": 0.2,
        }
        if self.model:
            body["model"] = self.model
        return body

    def stream(self, request: VlmRequest, cancel: CancelToken) -> Iterator[str]:
        key = self._key()
        payload = json.dumps(self.body(request)).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream",
                   "User-Agent": "glimpse-assistant"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        log.debug("POST %s model=%s (%d bytes)", self.shown_url, self.model, len(payload))
        conn = self._connect()
        done = threading.Event()
        watcher = threading.Thread(target=self._watch, args=(conn, cancel, done),
                                   name="vlm-remote-cancel", daemon=True)
        try:
            try:
                conn.request("POST", self._path, body=payload, headers=headers)
                watcher.start()
                response = conn.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                if cancel.cancelled:
                    return
                raise self._transport_error(exc, key) from None
            if response.status != 200:
                raise self._status_error(response, key)
            yield from self._events(response, cancel, key)
        finally:
            done.set()
            conn.close()
            if watcher.is_alive():
                watcher.join()

    def _watch(self, conn: http.client.HTTPConnection, cancel: CancelToken,
               done: threading.Event) -> None:
        """Shut the socket down as soon as the turn is cancelled (unblocks a waiting read)."""
        while not done.wait(0.02):
            if cancel.cancelled:
                sock = conn.sock
                if sock is not None:
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError as exc:  # already closed by the other side: nothing to stop
                        log.debug("cancel: socket already closed (%s)", exc)
                return

    def _events(self, response: http.client.HTTPResponse, cancel: CancelToken,
                key: str) -> Iterator[str]:
        """Parse the server-sent events; yield each non-empty content delta."""
        data_lines: list[str] = []
        while True:
            try:
                raw = response.readline()
            except (OSError, http.client.HTTPException) as exc:
                if cancel.cancelled:
                    return
                raise self._transport_error(exc, key, during_answer=True) from None
            if cancel.cancelled:
                return
            if not raw:  # the server closed the stream without [DONE]
                if data_lines:
                    yield from self._event("\n".join(data_lines), key)
                return
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if line.startswith("data:"):
                data_lines.append(line[5:].lstrip())
                continue
            if line == "" and data_lines:  # a blank line ends one event
                data = "\n".join(data_lines)
                data_lines = []
                if data.strip() == "[DONE]":
                    return
                yield from self._event(data, key)
            # Other lines (": keep-alive" comments, "event:", "id:") carry no text.

    def _event(self, data: str, key: str) -> Iterator[str]:
        try:
            chunk = json.loads(data)
        except ValueError:
            raise RemoteError(f"The remote server at {self.shown_url} sent something that is "
                              f"not JSON: {self._mask(data[:120], key)!r}",
                              "Check that vlm.remote_url points at an OpenAI-compatible "
                              "/v1 endpoint") from None
        if isinstance(chunk, dict) and chunk.get("error"):
            raise RemoteError(f"The remote server at {self.shown_url} reported an error: "
                              f"{self._mask(_error_text(chunk), key)}",
                              "Check the server's log and vlm.remote_model")
        for choice in (chunk.get("choices") or []) if isinstance(chunk, dict) else []:
            delta = choice.get("delta") or choice.get("message") or {}
            text = delta.get("content")
            if isinstance(text, str) and text:
                yield text

    # ----- errors -------------------------------------------------------------------------
    def _transport_error(self, exc: BaseException, key: str,
                         during_answer: bool = False) -> RemoteError:
        url = self.shown_url
        if isinstance(exc, (socket.timeout, TimeoutError)):
            when = "stopped answering for" if during_answer else "did not answer within"
            return RemoteError(f"The remote server at {url} {when} {self.timeout_s:g} s",
                               "Is it running and not overloaded? Raise vlm.remote_timeout_s "
                               "for slow servers", needs_action=True)
        if isinstance(exc, ConnectionRefusedError):
            return RemoteError(f"Could not connect to the remote server at {url} (connection "
                               "refused)", "Is it running? Start it, or fix vlm.remote_url. "
                               "Known servers: " + KNOWN_SERVERS, needs_action=True)
        if isinstance(exc, socket.gaierror):
            return RemoteError(f"The remote server's host name in {url} could not be found",
                               "Check vlm.remote_url", needs_action=True)
        if isinstance(exc, ssl.SSLError):
            return RemoteError(f"The secure connection to {url} failed: "
                               f"{self._mask(str(exc), key)}",
                               "Check the URL's scheme (http or https) and the certificate",
                               needs_action=True)
        return RemoteError(f"The connection to the remote server at {url} failed: "
                           f"{type(exc).__name__}: {self._mask(str(exc), key)}",
                           "Is it running? Check vlm.remote_url", needs_action=True)

    def _status_error(self, response: http.client.HTTPResponse, key: str) -> RemoteError:
        try:
            text = response.read(8192).decode("utf-8", errors="replace")
        except (OSError, http.client.HTTPException) as exc:
            text = f"(the error body could not be read: {type(exc).__name__})"
        try:
            detail = _error_text(json.loads(text))
        except ValueError:
            detail = text.strip()[:200]
        detail = self._mask(detail, key)
        status, url = response.status, self.shown_url
        if status in (401, 403):
            hint = (f"Set the API key in the environment variable {self.api_key_env}"
                    if not key else f"Check the API key in {self.api_key_env}")
        elif status == 404:
            hint = ("Check vlm.remote_url (it should end in /v1) and vlm.remote_model (the "
                    "server lists its models at /v1/models)")
        elif status == 429:
            hint = "The server is rate-limiting: wait a moment and ask again"
        elif status >= 500:
            hint = "The server failed: check its log; it may not support images with this model"
        else:
            hint = "Check vlm.remote_model and that the model accepts images"
        return RemoteError(f"The remote server at {url} answered {status} "
                           f"{response.reason}: {detail}", hint, needs_action=status < 500)


def _error_text(body: Any) -> str:
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            return str(err.get("message") or err)
        return str(err)
    return str(body)


def from_config(config: Any) -> RemoteVlm:
    v = config.vlm
    if not v.remote_url:
        raise ConfigError("vlm.backend is 'remote' but vlm.remote_url is empty",
                          "Set vlm.remote_url, e.g. " + KNOWN_SERVERS)
    return RemoteVlm(v.remote_url, v.remote_model, api_key_env=v.remote_api_key_env,
                     timeout_s=v.remote_timeout_s, max_image_pixels=v.max_image_pixels,
                     max_new_tokens=v.max_new_tokens, verbosity=config.scene.verbosity)
