"""Resumable, checksum-verified file downloads with the standard library only.

`download()` streams into `<dest>.part`, resumes a cut transfer with an HTTP Range request
(retrying a few times with backoff), checks the SHA-256 when one is known, and only then renames
the file into place, so `dest` either is complete and verified or does not exist. Cancelling
keeps the `.part` file, so the next call continues where this one stopped.

Threads: `download()` blocks the calling thread; `on_progress(done_bytes, total_bytes_or_None)`
is called on that thread, at most every 64 KiB read. `cancel` may be set from any thread.
"""
from __future__ import annotations

import hashlib
import http.client
import logging
import os
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Callable

from assistant import __version__
from assistant.errors import ModelError

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, "int | None"], None]
CHUNK = 64 * 1024
RETRIES = 4          # attempts after the first one, for cut connections and 5xx answers
BACKOFF_S = 0.5      # first wait between attempts; doubles each time


class Cancelled(ModelError):
    """The download was cancelled; the partial file is kept for a later resume."""


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in 1 MiB pieces (a 1.5 GB model takes a few seconds)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc or url


class Unreachable(ModelError):
    """The server could not be reached at all (no network, DNS failure, refused)."""


def _unreachable(url: str, exc: BaseException) -> ModelError:
    reason = getattr(exc, "reason", None) or exc
    return Unreachable(f"Could not reach {_host(url)}: {reason}",
                      "Check your connection, or use the offline pack "
                      "(pip install 'glimpse-assistant[offline]') or `glimpse models import DIR`",
                      needs_action=True)


def _total_from(response: http.client.HTTPResponse, offset: int) -> int | None:
    """The full file size from Content-Range ("bytes a-b/total") or Content-Length."""
    content_range = response.headers.get("Content-Range", "")
    if "/" in content_range:
        tail = content_range.rsplit("/", 1)[1].strip()
        if tail.isdigit():
            return int(tail)
    length = response.headers.get("Content-Length")
    if length and length.isdigit():
        return int(length) + offset
    return None


def download(url: str, dest: Path, *, sha256: str | None = None,
             on_progress: ProgressFn | None = None, cancel: threading.Event | None = None,
             timeout: float = 30.0, resume: bool = True, retries: int = RETRIES,
             backoff_s: float = BACKOFF_S) -> Path:
    """Fetch `url` into `dest` and return `dest`.

    `timeout` is per network operation (connect, each read), in seconds. Raises ModelError for
    HTTP errors, an unreachable host, or a checksum mismatch (the bad file is deleted), and
    `Cancelled` (a ModelError) when `cancel` is set.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    if not resume and part.exists():
        part.unlink()
    attempt = 0
    total: int | None = None
    progress_at = -1
    while True:
        offset = part.stat().st_size if part.exists() else 0
        if offset > progress_at:
            # Bytes arrived since the last failure: a flaky link gets fresh retries each time it
            # makes progress, so a long download is not abandoned after a few short cuts.
            attempt, progress_at = 0, offset
        try:
            total = _fetch(url, part, offset, on_progress, cancel, timeout)
            break
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and offset:
                # Range not satisfiable: the part file is already complete (or the file changed
                # on the server). The checksum below decides; without one, start over.
                if sha256:
                    total = offset
                    break
                part.unlink()
                continue
            if exc.code >= 500 and attempt < retries:
                attempt += 1
                _wait(attempt, cancel, url, exc, backoff_s)
                continue
            raise ModelError(f"Downloading {url} failed: HTTP {exc.code} {exc.reason}",
                             "Check the model name; if it is right, the server may be down, "
                             "try again later" if exc.code != 404 else
                             "The file is not on the server: check the model name and "
                             "`glimpse models list`") from exc
        except urllib.error.URLError as exc:
            transient = (socket.timeout, ConnectionResetError, ConnectionAbortedError)
            if isinstance(exc.reason, transient) and attempt < retries:
                attempt += 1
                _wait(attempt, cancel, url, exc, backoff_s)
                continue
            raise _unreachable(url, exc) from exc
        except (ConnectionError, socket.timeout, http.client.IncompleteRead,
                http.client.RemoteDisconnected, TimeoutError) as exc:
            # Cut mid-transfer: keep what arrived and ask for the rest.
            if attempt < retries:
                attempt += 1
                _wait(attempt, cancel, url, exc, backoff_s)
                continue
            raise ModelError(f"Downloading {url} kept failing ({exc or type(exc).__name__})",
                             "The partial file is kept: run the same command again to resume"
                             ) from exc
    size = part.stat().st_size
    if total is not None and size != total:
        raise ModelError(f"Download of {url} ended early ({size} of {total} bytes)",
                         "The partial file is kept: run the same command again to resume")
    if sha256:
        actual = sha256_file(part)
        if actual.lower() != sha256.lower():
            part.unlink()
            raise ModelError(f"Checksum mismatch for {dest.name} from {url}: expected sha256 "
                             f"{sha256}, got {actual}",
                             "The damaged file was deleted. Try again; if it repeats, the server "
                             "or a proxy is altering the file", needs_action=True)
    os.replace(part, dest)
    return dest


def _wait(attempt: int, cancel: threading.Event | None, url: str, exc: BaseException,
          backoff_s: float) -> None:
    delay = backoff_s * 2 ** (attempt - 1)
    log.info("download of %s interrupted (%s); retry %d in %.1f s", url, exc, attempt, delay)
    if cancel is not None and cancel.wait(delay):
        raise Cancelled(f"Download of {url} cancelled", "Run the command again to resume")
    if cancel is None:
        time.sleep(delay)  # backoff between retries, not a wait for a condition


def _fetch(url: str, part: Path, offset: int, on_progress: ProgressFn | None,
           cancel: threading.Event | None, timeout: float) -> int | None:
    """One HTTP request appending to `part` from `offset`; returns the total size if known."""
    headers = {"User-Agent": f"glimpse/{__version__}"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s)
        if offset and response.status != 206:
            # The server ignored the Range header: start again from zero.
            offset = 0
        total = _total_from(response, offset)
        done = offset
        if on_progress:
            on_progress(done, total)
        with open(part, "r+b" if offset else "wb") as out:
            out.seek(offset)
            out.truncate()
            while True:
                if cancel is not None and cancel.is_set():
                    raise Cancelled(f"Download of {url} cancelled at {done} bytes",
                                    "Run the command again to resume")
                block = response.read(CHUNK)
                if not block:
                    break
                out.write(block)
                done += len(block)
                if on_progress:
                    on_progress(done, total)
        if total is not None and done < total:
            raise http.client.IncompleteRead(b"", total - done)
        return total


def is_offline(config_offline: bool = False, environ: "os._Environ[str] | dict[str, str] | None"
               = None) -> bool:
    """True when the network must not be used: the config says so, or HF_HUB_OFFLINE=1 /
    GLIMPSE_OFFLINE=1 is set."""
    env = os.environ if environ is None else environ
    truthy = ("1", "true", "yes", "on")
    return bool(config_offline) or env.get("HF_HUB_OFFLINE", "").lower() in truthy \
        or env.get("GLIMPSE_OFFLINE", "").lower() in truthy
