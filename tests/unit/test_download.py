"""download() against a real HTTP server on 127.0.0.1: progress, resume, checksum, cancel."""
from __future__ import annotations

import hashlib
import threading

import numpy as np
import pytest

from assistant.models.download import Cancelled, download, sha256_file
from assistant.errors import ModelError
from tests.support.loopback_http import LoopbackServer

SIZE = 700_000  # ~11 chunks of 64 KiB


@pytest.fixture
def payload() -> bytes:
    return np.random.default_rng(7).integers(0, 256, SIZE, dtype=np.uint8).tobytes()


@pytest.fixture
def server(payload):
    with LoopbackServer() as srv:
        srv.state.files["/model.bin"] = payload
        yield srv


def test_progress_is_monotonic_with_the_right_total(server, payload, tmp_path):
    calls: list[tuple[int, int | None]] = []
    out = download(server.url("/model.bin"), tmp_path / "m.bin",
                   sha256=hashlib.sha256(payload).hexdigest(),
                   on_progress=lambda d, t: calls.append((d, t)))
    assert out.read_bytes() == payload
    assert not (tmp_path / "m.bin.part").exists()
    done = [d for d, _ in calls]
    assert done == sorted(done) and done[-1] == SIZE and len(calls) > 5
    assert {t for _, t in calls} == {SIZE}


def test_resumes_after_the_server_cuts_the_connection(server, payload, tmp_path):
    server.state.cut_after["/model.bin"] = 200_000
    server.state.cuts_left = 1
    calls: list[int] = []
    out = download(server.url("/model.bin"), tmp_path / "m.bin",
                   sha256=hashlib.sha256(payload).hexdigest(),
                   on_progress=lambda d, t: calls.append(d))
    assert out.read_bytes() == payload
    assert server.state.sent.is_set()
    ranges = [r for _, r in server.state.requests]
    assert ranges[0] is None
    # The second request continued from what had arrived, not from zero.
    assert len(ranges) == 2 and ranges[1] is not None and ranges[1] != "bytes=0-"
    resumed_at = int(ranges[1].removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= 200_000
    assert calls == sorted(calls)


def test_server_ignoring_range_restarts_cleanly(server, payload, tmp_path):
    server.state.cut_after["/model.bin"] = 100_000
    server.state.cuts_left = 1
    server.state.honour_range = False
    out = download(server.url("/model.bin"), tmp_path / "m.bin",
                   sha256=hashlib.sha256(payload).hexdigest())
    assert out.read_bytes() == payload


def test_checksum_mismatch_is_a_clear_error_and_leaves_no_file(server, tmp_path):
    with pytest.raises(ModelError) as err:
        download(server.url("/model.bin"), tmp_path / "m.bin", sha256="0" * 64)
    assert "Checksum mismatch" in str(err.value) and "0" * 64 in str(err.value)
    assert "deleted" in str(err.value)
    assert not (tmp_path / "m.bin").exists() and not (tmp_path / "m.bin.part").exists()


def test_cancel_keeps_the_part_file_and_a_later_call_resumes(server, payload, tmp_path):
    cancel = threading.Event()

    def stop_midway(done: int, total: int | None) -> None:
        if done >= 300_000:
            cancel.set()

    with pytest.raises(Cancelled):
        download(server.url("/model.bin"), tmp_path / "m.bin", on_progress=stop_midway,
                 cancel=cancel)
    part = tmp_path / "m.bin.part"
    kept = part.stat().st_size
    assert 300_000 <= kept < SIZE and not (tmp_path / "m.bin").exists()
    out = download(server.url("/model.bin"), tmp_path / "m.bin",
                   sha256=hashlib.sha256(payload).hexdigest())
    assert out.read_bytes() == payload
    assert server.state.requests[-1][1] == f"bytes={kept}-"


def test_complete_part_file_is_accepted_on_416(server, payload, tmp_path):
    (tmp_path / "m.bin.part").write_bytes(payload)
    out = download(server.url("/model.bin"), tmp_path / "m.bin",
                   sha256=hashlib.sha256(payload).hexdigest())
    assert sha256_file(out) == hashlib.sha256(payload).hexdigest()


def test_http_404_names_the_url(server, tmp_path):
    with pytest.raises(ModelError) as err:
        download(server.url("/missing.bin"), tmp_path / "x.bin")
    assert "HTTP 404" in str(err.value) and "/missing.bin" in str(err.value)


def test_unreachable_host_says_what_to_do(tmp_path):
    # A port nobody listens on: connection refused, immediately.
    with LoopbackServer() as srv:
        url = srv.url("/gone.bin")
    with pytest.raises(ModelError) as err:
        download(url, tmp_path / "x.bin", retries=0, timeout=5)
    text = str(err.value)
    assert "Could not reach 127.0.0.1" in text and "offline pack" in text


def test_a_flaky_link_that_keeps_making_progress_is_not_abandoned(server, payload, tmp_path):
    # Six cuts, more than the retry budget, but each one after new bytes arrived.
    server.state.cut_after["/model.bin"] = 100_000
    server.state.cuts_left = 6
    out = download(server.url("/model.bin"), tmp_path / "m.bin", backoff_s=0.01,
                   sha256=hashlib.sha256(payload).hexdigest())
    assert out.read_bytes() == payload
    assert len(server.state.requests) == 7


def test_gives_up_when_no_bytes_arrive(server, tmp_path):
    server.state.cut_after["/model.bin"] = 0
    server.state.cuts_left = 100
    with pytest.raises(ModelError) as err:
        download(server.url("/model.bin"), tmp_path / "m.bin", backoff_s=0.01, retries=3)
    assert "kept failing" in str(err.value) or "ended early" in str(err.value)
    assert len(server.state.requests) == 4
