"""The remote backend against an OpenAI-compatible server on loopback.

The server is `tests.support.vlm.OpenAIProtocolServer`: a recorded-protocol server (http.server)
that speaks the exact streaming wire format of the OpenAI chat completions API (SSE chunks,
`data: [DONE]`, JSON error bodies), plus slow, hung and failing modes. A real model server
cannot run on the test machines: llama-cpp-python has no binary wheel there (it would compile
from source for a long time), vLLM needs a GPU, Ollama needs a download, and no model weights
are available offline. The client speaks to all of them through this same protocol.
"""
from __future__ import annotations

import logging
import socket
import threading
import time

import numpy as np
import pytest

from assistant.events import Frame
from assistant.ports import VlmRequest
from assistant.stage import CancelToken, Generation
from tests.support.vlm import OpenAIProtocolServer
from vision.answer.vlm.openai_server import RemoteError, RemoteVlm

pytestmark = pytest.mark.system
KEY = "sk-test-9f8e7d6c5b4a39281706"


def frame():
    rng = np.random.default_rng(0)
    return Frame(image=rng.integers(0, 255, (240, 320, 3), dtype=np.uint8), captured_at=1.0)


def engine(url, **kw):
    kw.setdefault("environ", {"GLIMPSE_API_KEY": KEY})
    return RemoteVlm(url, "test-vlm", **kw)


def test_streams_in_order_with_image_and_key(caplog):
    caplog.set_level(logging.DEBUG)
    with OpenAIProtocolServer() as server:
        eng = engine(server.url)
        pieces = list(eng.stream(VlmRequest(question="What does it say?", frame=frame(),
                                            history=(("hi", "hello"),)),
                                 CancelToken.never()))
    assert pieces == ["The", " sign", " says", " STOP", "."]
    (req,) = server.requests
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["Authorization"] == f"Bearer {KEY}"
    body = req["body"]
    assert body["stream"] is True and body["model"] == "test-vlm"
    image = [p for p in body["messages"][1]["content"] if p["type"] == "image_url"]
    assert image[0]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "user"]
    assert KEY not in caplog.text


def test_server_down_is_a_clear_error():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    eng = engine(f"http://127.0.0.1:{port}/v1")
    with pytest.raises(RemoteError) as info:
        list(eng.stream(VlmRequest(question="?"), CancelToken.never()))
    message = str(info.value)
    assert f"127.0.0.1:{port}" in message and "Is it running?" in message
    assert KEY not in message


def test_hung_server_times_out_with_a_clear_error():
    with OpenAIProtocolServer(mode="hang") as server:
        eng = engine(server.url, timeout_s=1.0)
        started = time.monotonic()
        with pytest.raises(RemoteError, match="did not answer within 1 s"):
            list(eng.stream(VlmRequest(question="?"), CancelToken.never()))
        assert time.monotonic() - started < 5


def test_server_that_stalls_mid_answer_times_out():
    with OpenAIProtocolServer(mode="slow", delay=3.0) as server:
        eng = engine(server.url, timeout_s=1.0)
        with pytest.raises(RemoteError, match="stopped answering for 1 s"):
            list(eng.stream(VlmRequest(question="?"), CancelToken.never()))


def test_error_body_is_reported_and_the_key_is_masked(caplog):
    caplog.set_level(logging.DEBUG)
    echo = f"Incorrect API key provided: {KEY[:8]}...{KEY[-4:]} ({KEY})"
    with OpenAIProtocolServer(mode="error", status=401, message=echo) as server:
        eng = engine(server.url)
        with pytest.raises(RemoteError) as info:
            list(eng.stream(VlmRequest(question="?"), CancelToken.never()))
    message = str(info.value)
    assert "401" in message and "Incorrect API key" in message
    assert "GLIMPSE_API_KEY" in message  # where to fix it
    assert KEY not in message and KEY[:8] not in message and KEY[-4:] not in message
    assert KEY not in caplog.text


def test_unknown_model_404_says_what_to_check():
    with OpenAIProtocolServer(mode="error", status=404, message="model 'x' not found") as srv:
        with pytest.raises(RemoteError, match="remote_model"):
            list(engine(srv.url).stream(VlmRequest(question="?"), CancelToken.never()))


def test_error_event_mid_stream_is_raised():
    with OpenAIProtocolServer(mode="midstream-error") as server:
        got = []
        with pytest.raises(RemoteError, match="model crashed"):
            for piece in engine(server.url).stream(VlmRequest(question="?"),
                                                   CancelToken.never()):
                got.append(piece)
    assert got == ["The", " sign"]


PAUSE_S = 20.0  # the server's pause before its third word


def test_cancel_mid_stream_closes_the_response_promptly(no_thread_leak):
    """A cancel between two words ends the stream at once: it does not wait for the server's
    next word (PAUSE_S away; a stream that waited would end after it), and the server sees
    the client go."""
    generation = Generation()
    token = CancelToken(generation, 0)
    words = [f" w{i}" for i in range(100)]
    with OpenAIProtocolServer(words=words, mode="slow", delay=0.05,
                              pause=(2, PAUSE_S)) as server:
        got = []
        bumped = []
        for piece in engine(server.url).stream(VlmRequest(question="?"), token):
            got.append(piece)
            if len(got) == 2:  # cancelled from another thread, as a new key press does
                t = threading.Thread(target=lambda: (bumped.append(time.monotonic()),
                                                     generation.bump()))
                t.start()
                t.join()
        ended = time.monotonic()
        assert got == [" w0", " w1"]
        assert ended - bumped[0] < PAUSE_S / 2, f"ended {ended - bumped[0]:.2f} s after the cancel"
        assert server.client_gone.wait(PAUSE_S), "the server kept sending to a cancelled client"


def test_cancel_while_waiting_for_the_first_byte(no_thread_leak):
    """A server that never answers: the cancel ends the request at once, not at the 30 s
    timeout (half of it tells the two apart), and the server sees the client go."""
    generation = Generation()
    token = CancelToken(generation, 0)
    with OpenAIProtocolServer(mode="hang") as server:
        bumped = []
        timer = threading.Timer(0.3, lambda: (bumped.append(time.monotonic()),
                                              generation.bump()))
        timer.start()
        assert list(engine(server.url, timeout_s=30).stream(VlmRequest(question="?"),
                                                            token)) == []
        ended = time.monotonic()
        timer.join()
        assert ended - bumped[0] < 15, f"ended {ended - bumped[0]:.2f} s after the cancel"
