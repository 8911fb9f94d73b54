"""A stand-in for the desktop's xdg GlobalShortcuts portal on a private session bus.

It answers CreateSession and BindShortcuts the way the portal does (a Request object path in
the reply, the result in that Request's Response signal), then presses the bound shortcut once:
Activated after `press_after` seconds, Deactivated `hold` seconds later. Run it as a process:

    python -m tests.support.rig.fake_portal [press_after] [hold]
"""
from __future__ import annotations

import sys
import time

from jeepney import (
    DBusAddress,
    HeaderFields,
    MessageType,
    message_bus,
    new_method_return,
    new_signal,
)
from jeepney.io.blocking import open_dbus_connection

NAME, PATH = "org.freedesktop.portal.Desktop", "/org/freedesktop/portal/desktop"
IFACE = "org.freedesktop.portal.GlobalShortcuts"


def main() -> int:
    press_after = float(sys.argv[1]) if len(sys.argv) > 1 else 0.3
    hold = float(sys.argv[2]) if len(sys.argv) > 2 else 0.5
    with open_dbus_connection(bus="SESSION") as conn:
        conn.send_and_get_reply(message_bus.RequestName(NAME), timeout=5)
        print("ready", flush=True)
        session = ""
        while True:
            msg = conn.receive()
            if msg.header.message_type != MessageType.method_call:
                continue
            member = msg.header.fields.get(HeaderFields.member)
            sender = msg.header.fields.get(HeaderFields.sender, ":0.0")[1:].replace(".", "_")
            if member == "Get":  # Properties.Get(interface, "version")
                conn.send(new_method_return(msg, "v", (("u", 1),)))
                continue
            if member == "CreateSession":
                options = msg.body[0]
                request = f"{PATH}/request/{sender}/{options['handle_token'][1]}"
                session = f"{PATH}/session/{sender}/{options['session_handle_token'][1]}"
                conn.send(new_method_return(msg, "o", (request,)))
                results = {"session_handle": ("s", session)}
            elif member == "BindShortcuts":
                session_arg, shortcuts, _parent, options = msg.body
                request = f"{PATH}/request/{sender}/{options['handle_token'][1]}"
                conn.send(new_method_return(msg, "o", (request,)))
                results = {"shortcuts": ("a(sa{sv})", [
                    (sid, {"trigger_description": ("s", props["preferred_trigger"][1])})
                    for sid, props in shortcuts])}
            else:
                continue
            emitter = DBusAddress(request, interface="org.freedesktop.portal.Request")
            conn.send(new_signal(emitter, "Response", "ua{sv}", (0, results)))
            if member == "BindShortcuts":
                portal = DBusAddress(PATH, interface=IFACE)
                time.sleep(press_after)  # the person presses the shortcut a moment later
                conn.send(new_signal(portal, "Activated", "osta{sv}",
                                     (session_arg, "push-to-talk", 1, {})))
                time.sleep(hold)
                conn.send(new_signal(portal, "Deactivated", "osta{sv}",
                                     (session_arg, "push-to-talk", 2, {})))
                print("pressed", flush=True)


if __name__ == "__main__":
    sys.exit(main())
