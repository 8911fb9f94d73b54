"""A private X display (Xvfb) and a session bus with the AT-SPI accessibility bus, for tests
that run a real Qt window (xcb platform) and read its accessibility tree.

Xvfb picks a free display number itself (`-displayfd`), so parallel runs never collide.
Everything started here is stopped by `stop()`, by process id.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from tests.support.rig import unavailable
from tests.support.sessions import stop_all
from tests.support import ROOT

ARTIFACTS = ROOT / "artifacts" / "screenshots"


class DisplayError(RuntimeError):
    pass


def start_session_bus() -> tuple[subprocess.Popen, str]:
    """A private session D-Bus daemon: (process, address). Stop it with terminate()."""
    daemon = shutil.which("dbus-daemon")
    if daemon is None:
        raise DisplayError("dbus-daemon is missing (Debian package dbus)")
    proc = subprocess.Popen([daemon, "--session", "--nofork", "--print-address=1"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    address = proc.stdout.readline().strip()
    if not address:
        proc.terminate()
        raise DisplayError("dbus-daemon printed no address")
    return proc, address


class VirtualDisplay:
    def __init__(self, size: str = "1280x800x24") -> None:
        self.size = size
        self.display = ""
        self._procs: list[subprocess.Popen] = []
        self.bus_address = ""

    def start(self) -> "VirtualDisplay":
        xvfb = shutil.which("Xvfb")
        if xvfb is None:
            raise DisplayError("Xvfb is not installed (Debian package xvfb)")
        read, write = os.pipe()
        proc = subprocess.Popen([xvfb, "-displayfd", str(write), "-screen", "0", self.size,
                                 "-nolisten", "tcp"], pass_fds=(write,),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.close(write)
        self._procs.append(proc)
        with os.fdopen(read) as pipe:
            number = pipe.readline().strip()  # written once the server accepts clients
        if not number.isdigit():
            err = proc.stderr.read().decode(errors="replace")[-400:] if proc.poll() is not None \
                else ""
            self.stop()
            raise DisplayError(f"Xvfb did not start: {err or 'no display number'}")
        self.display = f":{number}"
        return self

    def start_accessibility_bus(self) -> str:
        """A private session D-Bus plus the AT-SPI bus launcher; returns the bus address."""
        launcher = Path("/usr/libexec/at-spi-bus-launcher")
        if not launcher.exists():
            raise DisplayError("at-spi-bus-launcher missing (Debian package at-spi2-core)")
        proc, address = start_session_bus()
        self._procs.append(proc)
        self.bus_address = address
        env = self.env()
        launch = subprocess.Popen([str(launcher), "--launch-immediately"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._procs.append(launch)
        # Wait until the a11y bus answers on the session bus (the launcher registers org.a11y.Bus).
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            out = subprocess.run(["dbus-send", "--session", "--print-reply",
                                  "--dest=org.a11y.Bus", "/org/a11y/bus", "org.a11y.Bus.GetAddress"],
                                 env=env, capture_output=True, text=True, timeout=5)
            if out.returncode == 0 and re.search(r'string "', out.stdout):
                return address
            time.sleep(0.1)  # polling a condition, with a deadline
        raise DisplayError("the AT-SPI bus did not come up within 10 s")

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(DISPLAY=self.display, QT_QPA_PLATFORM="xcb")
        if self.bus_address:
            env["DBUS_SESSION_BUS_ADDRESS"] = self.bus_address
        env.update(extra)
        return env

    def stop(self) -> None:
        stop_all(self._procs)


def start_or_skip(accessibility: bool = False) -> VirtualDisplay:
    display = VirtualDisplay()
    try:
        display.start()
        if accessibility:
            display.start_accessibility_bus()
    except (DisplayError, OSError, subprocess.SubprocessError) as exc:
        display.stop()
        unavailable(str(exc))
    return display


def save_screenshot(widget, name: str) -> Path:
    """Grab what the X server shows of `widget`'s window (in the app process) as a PNG."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screen = widget.screen()
    pixmap = screen.grabWindow(widget.winId())
    path = ARTIFACTS / f"{name}.png"
    if not pixmap.save(str(path)):
        raise DisplayError(f"could not save {path}")
    return path
