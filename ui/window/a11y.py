"""Screen-reader helpers: announcements and accessible names in one place."""
from __future__ import annotations

import logging

from PySide6.QtGui import QAccessible, QAccessibleEvent
from PySide6.QtWidgets import QLabel, QWidget

log = logging.getLogger(__name__)

try:  # Qt >= 6.8
    from PySide6.QtGui import QAccessibleAnnouncementEvent
except ImportError:  # pragma: no cover - older Qt: the live label below carries the text
    QAccessibleAnnouncementEvent = None  # type: ignore[assignment,misc]


def name(widget: QWidget, accessible_name: str, description: str = "") -> QWidget:
    """Set the accessible name (and description, and tooltip) of a widget; returns it."""
    widget.setAccessibleName(accessible_name)
    if description:
        widget.setAccessibleDescription(description)
        if not widget.toolTip():
            widget.setToolTip(description)
    return widget


def announce(live: QLabel, text: str, assertive: bool = False) -> None:
    """Make a screen reader say `text` now.

    The text goes to `live` (a visible label: sighted users see it too) and, on Qt >= 6.8, out as
    an announcement event (polite, or assertive for errors); on older Qt a NameChanged event on
    the label makes screen readers read it.
    """
    live.setText(text)
    live.setAccessibleDescription(text)
    if QAccessibleAnnouncementEvent is None:
        live.setAccessibleName(text)  # older Qt: a name change is what gets read
    if not QAccessible.isActive():
        return
    if QAccessibleAnnouncementEvent is not None:
        event = QAccessibleAnnouncementEvent(live, text)
        if assertive:
            event.setPoliteness(QAccessible.AnnouncementPoliteness.Assertive)
        QAccessible.updateAccessibility(event)
    else:
        QAccessible.updateAccessibility(QAccessibleEvent(live, QAccessible.NameChanged))
