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
