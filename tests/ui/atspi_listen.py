"""Listen for screen-reader announcements from one application through AT-SPI.

Runs under the SYSTEM python3 (gi + Atspi from python3-pyatspi / gir1.2-atspi-2.0):

    /usr/bin/python3 tests/ui/atspi_listen.py PID SECONDS [EVENT...]

Registers for the EVENTs (by default object:announcement, and name changes as the older
fallback), prints "listening" once registered, then one JSON line per event from PID (type,
text, detail1, the source's name and role, and its parent's role), and exits after SECONDS.
Registering is what the registry tells applications about (a screen reader's events).
"""
import json
import sys

import gi

gi.require_version("Atspi", "2.0")
from gi.repository import Atspi, GLib  # noqa: E402


def main():
    pid, seconds = int(sys.argv[1]), float(sys.argv[2])
    kinds = sys.argv[3:] or ["object:announcement", "object:property-change:accessible-name"]

    def on_event(event):
        try:
            source = event.source
            if source is None or source.get_process_id() != pid:
                return
            text = event.any_data if isinstance(event.any_data, str) else ""
            parent = source.get_parent()
            print(json.dumps({"type": event.type, "text": text, "detail1": event.detail1,
                              "source": source.get_name() or "",
                              "role": source.get_role_name() or "",
                              "parent_role": parent.get_role_name() if parent else ""}),
                  flush=True)
        except GLib.Error as exc:
            print(json.dumps({"type": "error", "text": str(exc)}), flush=True)

    listener = Atspi.EventListener.new(on_event)
    for kind in kinds:
        listener.register(kind)
    print("listening", flush=True)
    GLib.timeout_add(int(seconds * 1000), lambda: Atspi.event_quit() or False)
    Atspi.event_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
