"""A Debian 13 root holding Orca 48, so the real-screen-reader tests hear the Orca of current
desktops (Debian 13, and Ubuntu and Fedora give or take a version) beside Debian 12's Orca 43.

`debian13_root()` builds it with debootstrap from Debian's own packages into `.cache/` of the
checkout (git-ignored), once: later runs, and later tests of the same run, reuse it. A CI job
starts from a fresh clone, so it builds the root once per run (about 3 minutes, ~750 MB). The
build is locked (two test processes at once build it once) and finished last by a marker file,
so a build that was cut short is started again rather than used.

debootstrap stops at "dependency problems" on Debian 13's `gir1.2-*` packages (they are unpacked
in an order it cannot configure); apt inside the root finishes them. Every chroot runs in a
private mount namespace (`unshare --mount`): /proc is mounted for it there and vanishes with
it, so nothing stays mounted in the checkout, whatever happens to the test.
"""
from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
from pathlib import Path

from tests.support import ROOT

CACHE = ROOT / ".cache" / "orca-debian13"
SUITE = "trixie"  # Debian 13
PACKAGES = ("orca", "speech-dispatcher", "speech-dispatcher-espeak-ng", "at-spi2-core",
            "python3-pyatspi", "dbus", "dbus-x11",
            "x11-xkb-utils")  # Orca 48 stops at start without xkbcomp
DEFAULT_MIRROR = "http://deb.debian.org/debian"
BUILD_TIMEOUT_S = 1800.0  # ~3 min here; a slow mirror takes longer
PLAIN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


class RootError(RuntimeError):
    pass


def mirror() -> str:
    """The Debian archive this machine's apt already uses (GLIMPSE_DEBIAN_MIRROR overrides)."""
    if os.environ.get("GLIMPSE_DEBIAN_MIRROR"):
        return os.environ["GLIMPSE_DEBIAN_MIRROR"]
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for path in sources:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        found = re.search(r"^(?:URIs:|deb)\s+(?:\[[^]]*\]\s+)?(\S+/debian)/?\s", text, re.M)
        if found:
            return found.group(1)
    return DEFAULT_MIRROR


def debian13_root() -> Path:
    """The root folder (built first if missing: minutes). Raises RootError saying what to do."""
    root, ready = CACHE / "root", CACHE / "ready"
    if ready.exists() and (root / "usr" / "bin" / "orca").exists():
        return root
    if os.geteuid() != 0:
        raise RootError("building the Debian 13 root for Orca 48 needs root (debootstrap, "
                        "chroot)")
    if shutil.which("debootstrap") is None:
        raise RootError("debootstrap is missing (Debian package debootstrap)")
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test process may be building it now
        if ready.exists() and (root / "usr" / "bin" / "orca").exists():
            return root
        _build(root)
        ready.write_text(orca_version(root) + "\n")
    return root


def _run(cmd: list[str], log: Path) -> int:
    with log.open("a") as out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
        try:
            return subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT,
                                  timeout=BUILD_TIMEOUT_S).returncode
        except subprocess.TimeoutExpired:
            return 124


def in_root(root: Path, *cmd: str, env: dict[str, str] | None = None) -> list[str]:
    """The command line that runs `cmd` chrooted in `root`, with /proc mounted in a private
    mount namespace and a plain environment (the host's Python variables break the root's)."""
    plain = {"PATH": PLAIN_PATH, "LANG": "C.UTF-8", **(env or {})}
    script = 'mount -t proc proc "$1/proc" && shift && exec chroot "$@"'
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
            str(root), str(root), "env", "-i", *(f"{k}={v}" for k, v in plain.items()), *cmd]


def _build(root: Path) -> None:
    log = CACHE / "build.log"
    log.write_text("")
    if root.exists():
        shutil.rmtree(root)  # a build cut short (no marker); nothing is mounted in it
    rc = _run(["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE,
               str(root), mirror()], log)
    apt = {"DEBIAN_FRONTEND": "noninteractive"}
    if rc != 0 and (root / "usr" / "bin" / "apt-get").exists():
        # Debian 13's gir1.2-* packages leave debootstrap with "dependency problems".
        rc = _run(in_root(root, "apt-get", "-f", "install", "-y", "-q", env=apt), log)
    if rc == 0:
        rc = _run(in_root(root, "apt-get", "install", "-y", "-q", "--no-install-recommends",
                          *PACKAGES, env=apt), log)
    if rc != 0 or not (root / "usr" / "bin" / "orca").exists():
        tail = log.read_text(errors="replace")[-1500:]
        raise RootError(f"could not build the Debian 13 root for Orca 48 (exit {rc}; log in "
                        f"{log}): {tail}")
    _run(in_root(root, "apt-get", "clean"), log)


def orca_version(root: Path | None = None) -> str:
    """"48.1" for the root's Orca, or the host's when `root` is None; "" when unknown."""
    cmd = in_root(root, "orca", "--version") if root is not None else ["orca", "--version"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                             env=None if root is not None else dict(os.environ, DISPLAY=""))
    except (OSError, subprocess.SubprocessError):
        return ""
    found = re.search(r"(?:Orca version\s+)?(\d+\.\d+(?:\.\d+)?)", out.stdout)
    return found.group(1) if found else ""


def main() -> int:
    """Build the root now (CI does it once per run, before the tests): `python -m
    tests.support.rig.orca_root`. Prints the root's Orca version."""
    import time

    started = time.monotonic()
    try:
        root = debian13_root()
    except RootError as exc:
        print(f"Debian 13 root for Orca 48: {exc}")
        return 1
    print(f"Debian 13 root for Orca 48 at {root.relative_to(ROOT)}: Orca "
          f"{(CACHE / 'ready').read_text().strip()} ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
