"""Dump an application's accessibility tree, read through AT-SPI, as JSON on stdout.

Runs under the SYSTEM python3 (python3-pyatspi is a Debian package), not the project's venv:

    /usr/bin/python3 tests/ui/atspi_dump.py PID

Each node: role, name, description, states (focusable, focused, showing, enabled) and children.
Exit 2 when the application does not show up on the bus within 20 s.
"""
import json
import sys
import time

import pyatspi

INTERESTING = {"focusable": pyatspi.STATE_FOCUSABLE, "focused": pyatspi.STATE_FOCUSED,
               "showing": pyatspi.STATE_SHOWING, "enabled": pyatspi.STATE_ENABLED}


def node(acc, depth=0):
    states = acc.getState()
    out = {"role": acc.getRoleName(), "name": acc.name or "", "description": acc.description or "",
           "states": [k for k, v in INTERESTING.items() if states.contains(v)], "children": []}
    if depth < 40:
        for i in range(acc.childCount):
            child = acc.getChildAtIndex(i)
            if child is not None:
                out["children"].append(node(child, depth + 1))
    return out


def find(pid):
    desktop = pyatspi.Registry.getDesktop(0)
    for i in range(desktop.childCount):
        app = desktop.getChildAtIndex(i)
        if app is None:
            continue
        try:
            if app.get_process_id() == pid:
                return app
        except Exception:  # noqa: BLE001 - an app that went away meanwhile: look at the next
            continue
    return None


def main():
    pid = int(sys.argv[1])
    deadline = time.monotonic() + 20
    app = find(pid)
    while app is None and time.monotonic() < deadline:
        time.sleep(0.2)  # polling the bus for the app, with a deadline
        app = find(pid)
    if app is None:
        names = []
        desktop = pyatspi.Registry.getDesktop(0)
        for i in range(desktop.childCount):
            child = desktop.getChildAtIndex(i)
            names.append(child.name if child is not None else None)
        print(json.dumps({"error": f"pid {pid} not on the AT-SPI bus", "apps": names}))
        return 2
    print(json.dumps(node(app)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
