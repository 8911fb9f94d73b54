"""The real Orca screen reader on a private X display, for tests that assert on what a blind
user hears.

`OrcaSession.start()` brings up, each private to the session and stopped by `stop()` by process
id: Xvfb, a session D-Bus with the AT-SPI bus, a PulseAudio server (speech-dispatcher will not
start without one), and Orca with its debug log: the host's Orca (43 on Debian 12), or with
`OrcaSession(root=...)` the Orca of a Debian root (48 in Debian 13, `tests.support.rig.orca_root`),
chrooted, talking to the same display, buses and audio server.

Run as root (CI), Orca has a PID namespace of its own (`unshare --pid --kill-child`). At start
Orca looks for every other Orca of the same user on the machine (`pgrep -u`) and refuses to run
beside one, or with `--replace` kills them all: other test runs' Orcas included. In its
namespace it sees only its own, and when `stop()` ends the namespace, the speech-dispatcher it
started goes with it. (As another user, the host's Orca runs as it is, and says so when another
Orca of that user runs.) `spoken()` reads the log's `SPEECH OUTPUT:`
lines: what Orca said, in order. Orca writes its log block-buffered to a file, so a line could
wait minutes on an idle machine; here it writes through a pseudo-terminal instead (Python
buffers a terminal by line), and a reader thread copies each line to the log file at once.
`wait_spoken()` polls that file with a deadline.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tty
from pathlib import Path

from tests.support.rig.display import DisplayError, VirtualDisplay
from tests.support.rig.orca_root import PLAIN_PATH
from tests.support.sessions import stop_all

# Orca writes "SPEECH OUTPUT: 'text'{'established': False}" for messages and
# "SPEECH OUTPUT: 'space ' {'established': False}" (a space before the brace) for key echo.
SPEECH = re.compile(r"^(\d\d):(\d\d):(\d\d\.\d+) - SPEECH OUTPUT: '(.*?)'\s*(?:\{'established.*)?$",
                    re.MULTILINE)
ORCA_READY_S = 90.0  # Orca needs 5-20 s on an idle machine; far more on a loaded 2-core one


class OrcaError(RuntimeError):
    pass


def missing_tools() -> list[str]:
    tools = {"orca": "orca", "speech-dispatcher": "speech-dispatcher", "xdotool": "xdotool",
             "Xvfb": "xvfb", "pulseaudio": "pulseaudio", "gsettings": "libglib2.0-bin",
             "dbus-daemon": "dbus"}
    return [package for tool, package in tools.items() if shutil.which(tool) is None]


class OrcaSession:
    """Threads: the test's thread only."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root  # a Debian root whose Orca runs (chrooted); None: the host's Orca
        self.dir = Path(tempfile.mkdtemp(prefix="glimpse-orca-"))
        self.display = VirtualDisplay()
        self.log = self.dir / "orca-debug.log"
        self._procs: list[subprocess.Popen] = []
        self._orca: subprocess.Popen | None = None
        self._audio = None
        self._pty: tuple[int, int] | None = None
        self._reader: threading.Thread | None = None

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a client of this session (Orca, the app, xdotool)."""
        home = self.dir / "home"
        env = self.display.env(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
                               XDG_DATA_HOME=str(home / ".local" / "share"),
                               XDG_CACHE_HOME=str(home / ".cache"), GTK_A11Y="atspi",
                               NO_AT_BRIDGE="0", GSETTINGS_BACKEND="keyfile")
        if self._audio is not None:
            env.update(self._audio.env)
        env.update(extra)
        return env

    def start(self) -> "OrcaSession":
        missing = missing_tools()
        if missing:
            raise OrcaError(f"missing Debian packages: {', '.join(missing)}")
        from tests.support.rig.audio import VirtualAudio

        (self.dir / "home" / ".config").mkdir(parents=True)
        try:
            self.display.start()
            self._start_accessibility_bus()
            self._audio = VirtualAudio()
            self._audio.start()
        except (DisplayError, OSError, subprocess.SubprocessError, RuntimeError) as exc:
            self.stop()
            raise OrcaError(str(exc)) from exc
        env = self.env()
        subprocess.run(["gsettings", "set", "org.gnome.desktop.interface",
                        "toolkit-accessibility", "true"], env=env, check=False,
                       capture_output=True, timeout=30)
        master, slave = os.openpty()
        tty.setraw(slave)  # no "\r\n" translation, no echo
        self._pty = (master, slave)
        self._reader = threading.Thread(target=self._copy_log, args=(master,),
                                        name="orca-log", daemon=True)
        self._reader.start()
        with (self.dir / "orca.err").open("w") as err:
            orca = subprocess.Popen(self._orca_command(os.ttyname(slave), env), env=env,
                                    stdout=subprocess.DEVNULL, stderr=err)
        self._orca = orca
        # Orca is up once it has spoken its greeting (the log then exists and is flushed).
        if not self.wait_spoken(lambda lines: bool(lines), ORCA_READY_S):
            err = (self.dir / "orca.err").read_text(errors="replace")[-2000:]
            self.stop()
            raise OrcaError(f"Orca said nothing within {ORCA_READY_S:.0f} s: {err}")
        return self

    def _orca_command(self, debug_file: str, env: dict[str, str]) -> list[str]:
        """Orca with its debug log, alone in a PID namespace (see the module docstring)."""
        alone = ["unshare", "--pid", "--kill-child=SIGKILL", "--mount", "--propagation", "private"]
        if self.root is None:
            if os.geteuid() != 0:
                return ["orca", "--debug-file", debug_file]
            return [*alone, "--mount-proc", "orca", "--debug-file", debug_file]
        # The root's Orca reaches the display, buses and audio server through /tmp (where the
        # session keeps them) and the pseudo-terminal through /dev; the mounts live and die
        # with the namespace. Its environment is plain: the host's Python variables break the
        # root's Python.
        keep = ("DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME",
                "XDG_CACHE_HOME", "XDG_RUNTIME_DIR", "PULSE_SERVER", "GTK_A11Y", "NO_AT_BRIDGE",
                "GSETTINGS_BACKEND")
        plain = [f"{k}={env[k]}" for k in keep if env.get(k)]
        script = ('r="$1"; shift; mount -t proc proc "$r/proc" && mount --rbind /dev "$r/dev" && '
                  'mount --bind /sys "$r/sys" && mount --bind /tmp "$r/tmp" && exec chroot "$r" "$@"')
        return [*alone, "sh", "-c", script, "sh", str(self.root), "env", "-i",
                f"PATH={PLAIN_PATH}", "LANG=C.UTF-8", *plain,
                "orca", "--debug-file", debug_file]

    def _copy_log(self, master: int) -> None:
        """Reader thread: the pseudo-terminal's output, appended to the log file as it comes."""
        with self.log.open("ab") as out:
            while True:
                try:
                    data = os.read(master, 65536)
                except OSError:  # the terminal was closed by stop()
                    return
                if not data:
                    return
                out.write(data)
                out.flush()

    def _start_accessibility_bus(self) -> None:
        """A session bus and the AT-SPI bus launcher, both with the session's private HOME.

        The launcher keeps ScreenReaderEnabled in step with the desktop setting
        (org.gnome.desktop.a11y.applications screen-reader-enabled); with the user's HOME it
        would write the user's own setting when the test turns the screen reader on.
        """
        launcher = Path("/usr/libexec/at-spi-bus-launcher")
        if not launcher.exists():
            raise DisplayError("at-spi-bus-launcher missing (Debian package at-spi2-core)")
        bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                               env=self.env(), stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
        self._procs.append(bus)
        address = bus.stdout.readline().strip()
        if not address:
            raise DisplayError("dbus-daemon printed no address")
        self.display.bus_address = address
        self._procs.append(subprocess.Popen([str(launcher), "--launch-immediately"],
                                            env=self.env(), stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            out = subprocess.run(["dbus-send", "--session", "--print-reply",
                                  "--dest=org.a11y.Bus", "/org/a11y/bus",
                                  "org.a11y.Bus.GetAddress"],
                                 env=self.env(), capture_output=True, text=True, timeout=10)
            if out.returncode == 0 and 'string "' in out.stdout:
                return
            time.sleep(0.1)  # polling the bus's startup, with a deadline
        raise DisplayError("the AT-SPI bus did not come up within 20 s")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    @property
    def audio(self):
        """The session's virtual audio server (tests.support.rig.audio.VirtualAudio)."""
        return self._audio

    def utterances(self) -> list[tuple[float, str]]:
        """Everything Orca said so far: (seconds since local midnight, text), in order."""
        return [(int(h) * 3600 + int(m) * 60 + float(sec), text)
                for h, m, sec, text in SPEECH.findall(self.log_text())]

    def spoken(self) -> list[str]:
        """Everything Orca said so far, one string per utterance, in order."""
        return [text for _, text in self.utterances()]

    def keyboard_repeat(self, on: bool) -> None:
        """Turn the X server's key auto-repeat on or off (what `xset r` does)."""
        code = ("from Xlib import X, display; d = display.Display(); d.change_keyboard_control("
                f"auto_repeat_mode=X.AutoRepeatMode{'On' if on else 'Off'}); d.sync()")
        out = subprocess.run([sys.executable, "-c", code], env=self.env(), capture_output=True,
                             text=True, timeout=20)
        if out.returncode != 0:
            raise OrcaError(f"could not change key auto-repeat: {out.stderr.strip()[-400:]}")

    def key_repeats(self, keysym: int) -> bool:
        """Whether the X server repeats the key now (per-key and global auto-repeat)."""
        code = ("from Xlib import display; d = display.Display(); c = d.keysym_to_keycode("
                f"{keysym}); k = d.get_keyboard_control(); "
                "print(int(bool(k.global_auto_repeat and k.auto_repeats[c // 8] >> (c % 8) & 1)))")
        out = subprocess.run([sys.executable, "-c", code], env=self.env(), capture_output=True,
                             text=True, timeout=20)
        if out.returncode != 0:
            raise OrcaError(f"could not read key auto-repeat: {out.stderr.strip()[-400:]}")
        return out.stdout.strip() == "1"

    def wait_key_repeat(self, keysym: int, repeats: bool, timeout: float) -> bool:
        """Poll the X server until the key's auto-repeat is `repeats`; False at the deadline."""
        deadline = time.monotonic() + timeout
        while self.key_repeats(keysym) != repeats:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)  # polling the X server's state, with a deadline
        return True

    def set_screen_reader_enabled(self, on: bool = True) -> None:
        """Tell the desktop a screen reader is on, as GNOME does when the user turns Orca on."""
        out = subprocess.run(
            ["dbus-send", "--session", "--print-reply", "--dest=org.a11y.Bus", "/org/a11y/bus",
             "org.freedesktop.DBus.Properties.Set", "string:org.a11y.Status",
             "string:ScreenReaderEnabled", f"variant:boolean:{'true' if on else 'false'}"],
            env=self.env(), capture_output=True, text=True, timeout=20)
        if out.returncode != 0:
            raise OrcaError(f"could not set ScreenReaderEnabled: {out.stderr.strip()}")

    def wait_spoken(self, condition, timeout: float) -> bool:
        """Poll the debug log until `condition(spoken lines)` holds; False at the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            if condition(self.spoken()):
                return True
            if time.monotonic() > deadline:
                return False
            if self._orca is not None and self._orca.poll() is not None:
                return condition(self.spoken())
            time.sleep(0.05)  # polling a file another process writes, with a deadline

    def xdotool(self, *args: str, timeout: float = 20.0) -> str:
        out = subprocess.run(["xdotool", *args], env=self.env(), capture_output=True,
                             text=True, timeout=timeout)
        if out.returncode != 0:
            raise OrcaError(f"xdotool {' '.join(args)} failed: {out.stderr.strip()}")
        return out.stdout.strip()

    def stop(self) -> None:
        # Orca first, before the buses it talks to; ending its PID namespace also ends the
        # speech-dispatcher it started.
        if self._orca is not None:
            stop_all([self._orca])
            self._orca = None
        stop_all(self._procs)
        if self._audio is not None:
            self._audio.stop()
            self._audio = None
        self.display.stop()
        if self._pty is not None:
            for fd in self._pty:
                os.close(fd)
            self._pty = None
        if self._reader is not None:
            self._reader.join(5)
            self._reader = None
