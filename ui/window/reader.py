"""Whether the running screen reader listens for announcement events, asked of the AT-SPI
registry, so that each message goes out on the one channel that reader speaks (`announce`).

Every AT-SPI client tells the registry which events it wants (`RegisterEvent`), and the registry
answers `GetRegisteredEvents` with (client, event) pairs. Orca 45.2 and later register
`Object:Announcement:`; Orca 43 (Debian 12) does not, and never speaks an announcement event
(measured: docs/accessibility.md). Asking the registry, rather than a reader's name and version,
also answers for readers not measured here.

`ReaderWatch.start()` asks once and then follows the registry's EventListenerRegistered and
EventListenerDeregistered signals (a reader started or stopped after Glimpse; a reader that quits
is deregistered by the registry), asking again after each burst. D-Bus goes through jeepney on a
thread of this object's own (Qt's D-Bus module cannot read the registry's array of pairs). That
thread only writes `announcements` (a bool, read by the GUI thread) and sets `known`.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable

log = logging.getLogger(__name__)

REGISTRY = ("org.a11y.atspi.Registry", "/org/a11y/atspi/registry", "org.a11y.atspi.Registry")
A11Y_BUS = ("org.a11y.Bus", "/org/a11y/bus", "org.a11y.Bus")
ANNOUNCEMENT = "object:announcement"
TIMEOUT_S = 5.0  # one D-Bus call; the registry answers in milliseconds


def listens_for_announcements(events: Iterable[tuple[str, str]]) -> bool:
    """Whether any client registered for announcement events ("Object:Announcement:" or one of
    its details). Catch-all listeners ("object:", "") are left out on purpose: those are
    inspection tools (Accerciser), not a reader that speaks announcements."""
    for _client, event in events:
        name = event.lower().rstrip(":")
        if name == ANNOUNCEMENT or name.startswith(ANNOUNCEMENT + ":"):
            return True
    return False


class ReaderWatch:
    """Threads: `start`/`stop` on the GUI thread; the watch thread writes the results."""

    def __init__(self) -> None:
        self.announcements = False  # a client listens for announcement events
        self.known = threading.Event()  # set once the registry has answered (or failed)
        self.problem = ""  # why the registry could not be asked ("" when it could)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "ReaderWatch":
        self._thread = threading.Thread(target=self._run, name="glimpse-reader-watch",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2)

    # -- watch thread ----------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            from jeepney import MatchRule, message_bus
            from jeepney.io.blocking import open_dbus_connection
        except ImportError as exc:
            self._give_up(f"jeepney is missing ({exc})")
            return
        try:
            address = self._bus_address()
            with open_dbus_connection(bus=address) as conn:
                rule = MatchRule(type="signal", interface=REGISTRY[2], path=REGISTRY[1])
                conn.send_and_get_reply(message_bus.AddMatch(rule), timeout=TIMEOUT_S)
                with conn.filter(rule, bufsize=1024) as queue:
                    self._ask(conn)
                    while not self._stop.is_set():
                        try:
                            conn.recv_until_filtered(queue, timeout=0.5)
                        except TimeoutError:
                            continue
                        queue.clear()  # a reader registers dozens of events at once: ask once
                        self._ask(conn)
        except (OSError, EOFError, TimeoutError, KeyError, ValueError, RuntimeError) as exc:
            # No bus, or it went away (the session is ending): nothing is known any more.
            self._give_up(str(exc) or type(exc).__name__)

    def _give_up(self, why: str) -> None:
        self.problem = why
        self.announcements = False
        log.info("cannot ask the accessibility registry which events are heard (%s); "
                 "messages go out as notifications", why)
        self.known.set()

    def _bus_address(self) -> str:
        """The accessibility bus (AT_SPI_BUS_ADDRESS, as libatspi and Qt honour it, or the
        session bus's org.a11y.Bus)."""
        if os.environ.get("AT_SPI_BUS_ADDRESS"):
            return os.environ["AT_SPI_BUS_ADDRESS"]
        from jeepney import DBusAddress, new_method_call
        from jeepney.io.blocking import open_dbus_connection

        with open_dbus_connection(bus="SESSION") as session:
            bus = DBusAddress(A11Y_BUS[1], bus_name=A11Y_BUS[0], interface=A11Y_BUS[2])
            reply = session.send_and_get_reply(new_method_call(bus, "GetAddress"),
                                               timeout=TIMEOUT_S)
        if reply.header.message_type.name == "error" or not reply.body:
            raise RuntimeError(f"no accessibility bus: {reply.body}")
        return reply.body[0]

    def _ask(self, conn) -> None:
        from jeepney import DBusAddress, new_method_call

        registry = DBusAddress(REGISTRY[1], bus_name=REGISTRY[0], interface=REGISTRY[2])
        reply = conn.send_and_get_reply(new_method_call(registry, "GetRegisteredEvents"),
                                        timeout=TIMEOUT_S)
        if reply.header.message_type.name == "error":
            raise RuntimeError(f"GetRegisteredEvents failed: {reply.body}")
        heard = listens_for_announcements(reply.body[0])
        if heard != self.announcements or not self.known.is_set():
            log.info("a screen reader listens for announcement events: %s", heard)
        self.announcements = heard
        self.known.set()
