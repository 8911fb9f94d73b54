"""Problems, each said once: a device that does not work is a state of the window, and a
problem that needs the user's help opens one dialog, once.

Devices. The microphone, the speaker and the camera are opened by their stages, which report a
failure as an `ErrorEvent` at start and again each time they are asked to work (the speaker at
every answer). The window keeps them as a state (`DeviceState`): the first report of a device
shows the device bar (`DeviceBar`, in the window's notice area) and the status line's words, and
is announced once; later reports of the same device change nothing. The bar says what works
meanwhile and what to do, with a choice per device: **Continue without sound** (answers are
shown as text), **Continue without a microphone** (typed questions), **Continue without the
camera**, plus **Open Settings** and **Try again**. A choice to go without is for this session
(the bridge rebuilds the pipeline without that part); Try again tries every part again. After a
rebuild, a device that no longer fails by the time every stage has finished its setup works
again, and the window says so.

Other problems. `ProblemDialogs.show` opens the "Glimpse needs your help" dialog for a problem
that needs the user (a model missing, nothing could start), at most once per message in a
session, one dialog at a time; while another dialog is open the latest waits for it to close.

Threads: GUI thread only.
"""
from __future__ import annotations

import logging

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from ui.labels import DEVICES, Device
from ui.window.a11y import name

log = logging.getLogger(__name__)


#: the stage that opens each device (assistant.events.StageName values)
DEVICE_OF_STAGE = {"capture": "microphone", "playback": "speaker", "camera": "camera"}
#: pipeline part (ui.bootstrap.OPTIONAL_GROUPS) -> the device it holds
DEVICE_OF_GROUP = {d.group: d.key for d in DEVICES.values()}


class DeviceState:
    """Which devices do not work, and which the user chose to go without (plain data)."""

    def __init__(self) -> None:
        self.missing: dict[str, str] = {}  # device -> the stage's own words (for the log)
        self.left_out: set[str] = set()
        self._unconfirmed: set[str] = set()  # missing before a rebuild, not reported since

    def report(self, stage: str, message: str) -> Device | None:
        """A device stage failed. Returns the device when this is news (say it), else None."""
        key = DEVICE_OF_STAGE[stage]
        self._unconfirmed.discard(key)
        news = key not in self.missing
        if news:
            log.info("%s does not work: %s", key, message)
        self.missing[key] = message
        return DEVICES[key] if news else None

    def rebuilding(self, left_out_groups: set[str]) -> None:
        """A new pipeline is being built, without `left_out_groups` (the user's choices)."""
        self.left_out = {DEVICE_OF_GROUP[g] for g in left_out_groups if g in DEVICE_OF_GROUP}
        for key in self.left_out:
            self.missing.pop(key, None)
        self._unconfirmed = set(self.missing)

    def set_up(self) -> list[Device]:
        """Every stage finished its setup: devices missing before the rebuild that did not fail
        again work now. Returns them."""
        back = [DEVICES[k] for k in sorted(self._unconfirmed)]
        for key in self._unconfirmed:
            self.missing.pop(key, None)
        self._unconfirmed = set()
        return back

    def unusable(self, key: str) -> bool:
        """The device is missing or left out."""
        return key in self.missing or key in self.left_out

    def words(self) -> dict[str, str]:
        """device -> the status line's words."""
        out = {k: DEVICES[k].state for k in self.missing}
        out.update({k: DEVICES[k].left_out for k in self.left_out})
        return out


def announcement(device: Device) -> str:
    return f"{device.missing} {device.meanwhile} {device.todo}"


def bar_text(devices: list[Device]) -> str:
    """What does not work, what Glimpse does meanwhile, and what to do, each said once."""
    if not devices:
        return ""
    said = " ".join(f"{d.missing} {d.meanwhile}" for d in devices)
    if len(devices) == 1:
        return f"{said} {devices[0].todo}"
    return (f"{said} Connect them (or choose others in Settings), then choose Try again; or "
            "continue without them.")


class DeviceBar(QFrame):
    """The devices that do not work, what Glimpse does meanwhile and what to do."""

    without_requested = Signal(str)  # a pipeline part to go without (OPTIONAL_GROUPS name)
    settings_requested = Signal()
    retry_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")  # the notices' frame (ui.window.theme)
        self.setFrameShape(QFrame.StyledPanel)
        outer = QHBoxLayout(self)
        icon = QLabel()
        icon.setPixmap(self.style().standardIcon(QStyle.SP_MessageBoxWarning).pixmap(32, 32))
        icon.setAccessibleName("Warning")
        outer.addWidget(icon)
        box = QVBoxLayout()
        self.text = QLabel("")
        self.text.setWordWrap(True)
        box.addWidget(self.text)
        self.row = QHBoxLayout()
        self.withouts: dict[str, QPushButton] = {}
        for device in DEVICES.values():
            button = QPushButton(device.without)
            plain = device.without.replace("&", "")
            name(button, plain, f"{device.meanwhile} Only for this session; Try again uses it "
                                "again.")
            button.clicked.connect(lambda _=False, g=device.group: self.without_requested.emit(g))
            self.withouts[device.key] = button
            self.row.addWidget(button)
        self.row.addStretch(1)
        self.settings = QPushButton("Open Se&ttings")
        name(self.settings, "Open Settings", "Choose another microphone, speaker or camera.")
        self.retry = QPushButton("T&ry again")
        name(self.retry, "Try again", "Start Glimpse again with every device.")
        self.settings.clicked.connect(self.settings_requested.emit)
        self.retry.clicked.connect(self.retry_requested.emit)
        self.row.addWidget(self.settings)
        self.row.addWidget(self.retry)
        box.addLayout(self.row)
        outer.addLayout(box, 1)
        self.shown: list[str] = []
        self.setVisible(False)

    def show_devices(self, missing: list[str]) -> None:
        """Show the bar for these devices (keys of DEVICES); hide it when there are none."""
        self.shown = list(missing)
        devices = [DEVICES[k] for k in missing]
        self.text.setText(bar_text(devices))
        for key, button in self.withouts.items():
            button.setVisible(key in missing)
        name(self, "Device problem", self.text.text())
        self.setVisible(bool(devices))


class ProblemDialogs:
    """The dialog for problems that need the user: once per message, one at a time."""

    def __init__(self, window: QWidget, on_settings, on_models, on_retry) -> None:
        self.window = window
        self.on_settings, self.on_models, self.on_retry = on_settings, on_models, on_retry
        self.box: QMessageBox | None = None
        self.pending: tuple[str, bool, str] | None = None  # message, again, stage
        self.said: set[str] = set()
        self.opened = 0  # dialogs opened this session (tests count them)

    def show(self, message: str, again: bool = False, stage: str = "") -> None:
        """Open the dialog for `message` unless it was shown before (`again`: even then);
        `stage` says whose problem it is (kept while it waits for another dialog)."""
        if message in self.said and not again:
            return
        if self.box is not None and self.box.isVisible():
            self.said.add(message)
            self.box.setText(message)  # one dialog at a time, with the latest news
            self.box.setAccessibleDescription(message)
            return
        modal = QApplication.activeModalWidget()
        if modal is not None and modal is not self.box:
            # Another dialog (first run, settings) is open: show this once it closes.
            self.pending = (message, again, stage)
            return
        self.said.add(message)
        self.opened += 1
        box = QMessageBox(QMessageBox.Warning, "Glimpse needs your help", message,
                          QMessageBox.NoButton, self.window)
        box.setAccessibleName("Problem")
        box.setAccessibleDescription(message)
        settings = box.addButton("Open Settings", QMessageBox.ActionRole)
        models = box.addButton("Models", QMessageBox.ActionRole)
        retry = box.addButton("Try again", QMessageBox.AcceptRole)
        box.addButton("Close", QMessageBox.RejectRole)

        def done(_result: int) -> None:
            clicked = box.clickedButton()
            if clicked is settings:
                self.on_settings()
            elif clicked is models:
                self.on_models()
            elif clicked is retry:
                self.on_retry()

        box.finished.connect(done)
        self.box = box
        box.open()

    def show_pending(self, still_current) -> None:
        """A dialog closed: show what arrived meanwhile, if `still_current(stage)`."""
        pending, self.pending = self.pending, None
        if pending is not None and still_current(pending[2]):
            self.show(*pending)

    def visible(self) -> bool:
        return self.box is not None and self.box.isVisible()
