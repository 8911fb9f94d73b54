"""Memory freed while models load goes back to the system after a stage's setup
(`assistant.stage.release_freed_memory`): freed pieces inside the allocator's pools, below
memory still in use, are not returned by `free` alone."""
from __future__ import annotations

import sys

import pytest

from assistant.stage import release_freed_memory


def _resident_kb() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim: Linux")
def test_freed_pool_memory_goes_back_to_the_system():
    blocks = [bytearray(64 * 1024) for _ in range(400)]  # 25 MB in the allocator's pools
    pin = [bytearray(64 * 1024) for _ in range(4)]  # in use above them: free() cannot shrink
    before = _resident_kb()
    del blocks
    after_free = _resident_kb()
    release_freed_memory()
    after_release = _resident_kb()
    assert after_free - after_release > 15_000, (before, after_free, after_release)
    assert pin  # kept alive until here


ARENAS_SCRIPT = r"""
import ctypes, ctypes.util, re, sys, tempfile, threading
from assistant.stage import limit_malloc_arenas
if sys.argv[1] == "limit":
    limit_malloc_arenas(2)
libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
start, keep = threading.Barrier(8), []
def work():
    start.wait()  # all at once, as stage threads are
    for _ in range(2000):
        keep.append(bytearray(4096))
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
libc.fopen.restype = ctypes.c_void_p
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
with tempfile.NamedTemporaryFile(suffix=".xml") as out:
    f = libc.fopen(out.name.encode(), b"w")
    libc.malloc_info(0, f)
    libc.fclose(f)
    print(len(re.findall(r'<heap nr=', open(out.name).read())))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux")
def test_threads_share_at_most_two_malloc_arenas():
    """8 threads allocating at once: glibc gives them arenas of their own, unless the bootstrap
    limited them (`limit_malloc_arenas`); each arena keeps what its thread freed."""
    import os
    import subprocess

    from tests.support import ROOT

    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    env["PYTHONPATH"] = str(ROOT)

    def arenas(mode: str) -> int:
        out = subprocess.run([sys.executable, "-c", ARENAS_SCRIPT, mode], env=env, cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return int(out.stdout.strip())

    assert arenas("limit") <= 2
    assert arenas("default") > 2  # the test can tell: without the limit there are more
