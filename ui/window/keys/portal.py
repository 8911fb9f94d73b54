"""Push-to-talk from anywhere on Wayland, through the xdg GlobalShortcuts portal.

Wayland gives no application the keys of other windows; the desktop's portal
(org.freedesktop.portal.GlobalShortcuts) does, after the user agrees to the binding in a
desktop dialog. The session: CreateSession -> BindShortcuts (one shortcut, "push-to-talk",
with a preferred trigger) -> Activated / Deactivated signals, which become PushToTalkDown / Up.

D-Bus goes through jeepney (pure Python) on a thread of this object's own; that thread only calls
`submit` (the bridge's thread-safe submit) and `on_note` (which must be thread-safe too: the
App passes a Qt signal emit) and never touches a widget.
"""
from __future__ import annotations

import logging
import os
import threading
from typing import Any, Callable

from assistant import events as ev
from ui.labels import key_text

log = logging.getLogger(__name__)

PORTAL = ("org.freedesktop.portal.Desktop", "/org/freedesktop/portal/desktop")
IFACE = "org.freedesktop.portal.GlobalShortcuts"
SHORTCUT_ID = "push-to-talk"


class PortalError(RuntimeError):
    pass


def portal_trigger(combo: str) -> str:
    """`<ctrl>+<alt>+space` -> `CTRL+ALT+space` (the shortcuts spec's preferred-trigger form)."""
    names = {"ctrl": "CTRL", "alt": "ALT", "shift": "SHIFT", "cmd": "LOGO", "super": "LOGO"}
    parts = [p.strip().strip("<>").lower() for p in combo.split("+") if p.strip()]
    return "+".join(names.get(p, p) for p in parts)


class PortalShortcut:
    def __init__(self, combo: str, submit: Callable[[ev.Command], None], toggle: bool = False,
                 on_note: Callable[[str], None] | None = None, timeout: float = 60.0) -> None:
        self.trigger = portal_trigger(combo)
        self.keys = key_text(combo)  # as people write it, in what the window says
        self.submit = submit
        self.toggle = toggle
        self.on_note = on_note or (lambda _text: None)
        self.timeout = timeout  # how long the user may take in the desktop's consent dialog
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._talking = False
        self.bound = threading.Event()

    def start(self) -> str:
        self._thread = threading.Thread(target=self._run, name="glimpse-portal-shortcut",
                                        daemon=True)
        self._thread.start()
        return (f"Global push-to-talk: asking the desktop to bind {self.keys} (GlobalShortcuts "
                "portal); confirm it in the desktop's dialog.")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2)

    # -- portal thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            from jeepney.io.blocking import open_dbus_connection
        except ImportError:
            self.on_note("Global push-to-talk on Wayland needs the jeepney package; hold Space "
                         "in the window instead.")
            return
        try:
            with open_dbus_connection(bus="SESSION") as conn:
                session = self._bind(conn)
                self.bound.set()
                self.on_note(f"Global push-to-talk: {self.keys} (desktop shortcut portal).")
                self._listen(conn, session)
        except (PortalError, OSError, TimeoutError, ConnectionError) as exc:
            log.info("GlobalShortcuts portal failed: %s", exc)
            self.on_note(f"Global push-to-talk is unavailable ({exc}). Hold Space while the "
                         "Glimpse window has focus, or bind a desktop shortcut to `glimpse ask`.")

    def _request(self, conn: Any, method: str, signature: str, body: tuple, token: str) -> dict:
        """Call a portal method that answers through a Request object's Response signal."""
        from jeepney import DBusAddress, MatchRule, message_bus, new_method_call

        sender = conn.unique_name[1:].replace(".", "_")
        path = f"{PORTAL[1]}/request/{sender}/{token}"
        rule = MatchRule(type="signal", interface="org.freedesktop.portal.Request",
                         member="Response", path=path)
        conn.send_and_get_reply(message_bus.AddMatch(rule), timeout=5)
        portal = DBusAddress(PORTAL[1], bus_name=PORTAL[0], interface=IFACE)
        with conn.filter(rule) as queue:
            reply = conn.send_and_get_reply(new_method_call(portal, method, signature, body),
                                            timeout=10)
            if reply.header.message_type.name == "error":
                raise PortalError(f"{method} failed: {reply.body[0] if reply.body else reply}")
            response = conn.recv_until_filtered(queue, timeout=self.timeout)
        code, results = response.body
        if code != 0:
            raise PortalError(f"the desktop declined {method} (code {code})")
        return results

    def _bind(self, conn: Any) -> str:
        token = f"glimpse{os.getpid()}"
        results = self._request(conn, "CreateSession", "a{sv}", (
            {"handle_token": ("s", token + "_1"), "session_handle_token": ("s", token)},),
            token + "_1")
        session = results["session_handle"][1]
        shortcut = (SHORTCUT_ID, {"description": ("s", "Glimpse: push to talk"),
                                  "preferred_trigger": ("s", self.trigger)})
        self._request(conn, "BindShortcuts", "oa(sa{sv})sa{sv}",
                      (session, [shortcut], "", {"handle_token": ("s", token + "_2")}),
                      token + "_2")
        return session

    def _listen(self, conn: Any, session: str) -> None:
        from jeepney import HeaderFields, MatchRule, message_bus

        rule = MatchRule(type="signal", interface=IFACE, path=PORTAL[1])
        conn.send_and_get_reply(message_bus.AddMatch(rule), timeout=5)
        with conn.filter(rule, bufsize=64) as queue:
            while not self._stop.is_set():
                try:
                    msg = conn.recv_until_filtered(queue, timeout=0.5)
                except TimeoutError:
                    continue
                member = msg.header.fields.get(HeaderFields.member)
                if not msg.body or msg.body[0] != session or msg.body[1] != SHORTCUT_ID:
                    continue
                if member == "Activated":
                    if self.toggle:
                        self._talking = not self._talking
                        self.submit(ev.PushToTalkDown() if self._talking else ev.PushToTalkUp())
                    else:
                        self.submit(ev.PushToTalkDown())
                elif member == "Deactivated" and not self.toggle:
                    self.submit(ev.PushToTalkUp())
