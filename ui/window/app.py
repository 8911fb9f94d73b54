"""Start the window: `run_app(config)` is what `glimpse gui` calls.

`App` wires the pieces: the Bridge (owns the pipeline), the MainWindow, the dialogs, the global
shortcut and the theme. Tests build an `App` with their own pipeline factory (fakes injected
through `bootstrap(...)`) and an `exec=False` start.

SIGTERM (a logout, `kill`, a service manager) and SIGINT (Ctrl+C in the terminal that started
it) close Glimpse as closing the window does: the event loop quits, the pipeline stops, history
commits what was queued, settings are not touched, and the process exits with status 0 (a stop
that was asked for is a clean stop). A second signal while it shuts down ends it at once.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import sys
from pathlib import Path

from assistant.config import Config

log = logging.getLogger(__name__)


def clean_qt_environment(environ: dict | None = None) -> list[str]:
    """Remove Qt plugin/font paths that point into OpenCV's bundled Qt.

    The full opencv-python build sets QT_QPA_PLATFORM_PLUGIN_PATH and QT_QPA_FONTDIR to its own
    Qt directories when cv2 is imported; PySide6 would then load cv2's xcb plugin and fail.
    Returns the names removed.
    """
    env = os.environ if environ is None else environ
    removed = []
    for var in ("QT_QPA_PLATFORM_PLUGIN_PATH", "QT_QPA_FONTDIR", "QT_PLUGIN_PATH"):
        value = env.get(var, "")
        if value and "cv2" in Path(value).parts:
            del env[var]
            removed.append(var)
    return removed


#: PySide6 releases whose SignalInstance.emit() returns True without a reference: every emit
#: takes one from True, and Python before 3.12 aborts ("bool_dealloc") when the count reaches
#: zero, about two minutes after the window opens. pyproject.toml excludes them.
BROKEN_PYSIDE = ("6.12.0",)


def qt_binding_problem(version: str | None = None,
                       python: tuple[int, int] | None = None) -> str:
    """Why the installed PySide6 cannot run the window ("" when it can)."""
    if version is None:
        import PySide6

        version = PySide6.__version__
    python = python or sys.version_info[:2]
    if version in BROKEN_PYSIDE and python < (3, 12):
        return (f"PySide6 {version} has a bug that makes the window abort a few minutes after "
                "it opens (each signal takes a reference from True)")
    return ""


class QuitOnSignal:
    """Quit the Qt event loop when the process gets one of `signals` (SIGTERM by default).

    Why a socket: Python runs a signal handler only when the interpreter gets control, and
    inside `QApplication.exec()` that may not happen for a long time. Python's C-level handler
    writes the signal's number to the wakeup socket at once (`signal.set_wakeup_fd`); a
    QSocketNotifier on the other end wakes the event loop, which reads it and quits.
    Threads: install and `remove` on the main thread (signal handlers live there).
    """

    def __init__(self, qapp, signals: tuple[int, ...] = (signal.SIGTERM,)) -> None:
        from PySide6.QtCore import QSocketNotifier

        self.qapp = qapp
        self.signals = frozenset(int(s) for s in signals)
        self.received: int | None = None
        self._read, self._write = socket.socketpair()
        self._read.setblocking(False)
        self._write.setblocking(False)
        self._notifier = QSocketNotifier(self._read.fileno(), QSocketNotifier.Type.Read)
        self._notifier.activated.connect(self._wake)
        self._previous_fd = signal.set_wakeup_fd(self._write.fileno(), warn_on_full_buffer=False)
        # The Python handler only keeps the default action (ending the process) from happening;
        # the socket does the work.
        self._previous = {s: signal.signal(s, self._note) for s in self.signals}

    def _note(self, signum: int, _frame) -> None:
        self.received = signum

    def _wake(self, *_args) -> None:
        try:
            data = self._read.recv(64)
        except (BlockingIOError, InterruptedError):
            return
        if self.signals.intersection(data):
            log.info("signal received: closing")
            self.qapp.quit()

    def remove(self) -> None:
        """Give the signals back their earlier handlers (a second SIGTERM then ends at once)."""
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        signal.set_wakeup_fd(self._previous_fd)
        self._notifier.setEnabled(False)
        self._read.close()
        self._write.close()


class App:
    """Threads: GUI thread only."""

    def __init__(self, config: Config, *, pipeline_factory=None, config_path: Path | None = None,
                 global_shortcut: bool = True, first_run: bool | None = None,
                 history_dir: Path | None = None) -> None:
        from PySide6.QtWidgets import QApplication

        from ui.window import theme
        from ui.window.announce import screen_reader_running, settle_answer_voice
        from ui.window.bridge import Bridge, default_factory
        from ui.window.main_window import MainWindow

        problem = qt_binding_problem()
        if problem:
            from assistant.errors import GlimpseError

            raise GlimpseError(problem, 'Install another release: pip install '
                               '"PySide6-Essentials!=6.12.0" (the command line works as it is)',
                               needs_action=True)
        self.qapp = QApplication.instance() or QApplication(sys.argv[:1])
        self.qapp.setApplicationName("Glimpse")
        self.qapp.setApplicationDisplayName("Glimpse")
        self.qapp.setDesktopFileName("glimpse")
        self.config_path = config_path
        theme.apply(self.qapp, config.ui.theme, config.ui.font_scale)
        from assistant.config import data_dir

        # ui.answer_voice "auto": the screen reader speaks answers when one runs at start. The
        # config keeps "auto"; each pipeline is built with the voice it stands for.
        self.screen_reader = screen_reader_running()
        factory = pipeline_factory or default_factory

        def settled_factory(cfg: Config, **parts):
            return factory(settle_answer_voice(cfg, self.screen_reader), **parts)

        # History lives in the user data dir (GLIMPSE_DATA_DIR overrides it); off = no file.
        self.bridge = Bridge(config, settled_factory, history_dir=history_dir or data_dir())
        # Which channel the screen reader speaks (ui.window.reader), and, with a screen reader,
        # no X auto-repeat of the talk key while it is the talk key (ui.window.keys.repeat).
        from ui.window.keys.repeat import KeyRepeat
        from ui.window.reader import ReaderWatch

        self.reader = ReaderWatch().start()
        self.key_repeat = KeyRepeat() if self.screen_reader else None
        self.window = MainWindow(self.bridge, screen_reader=self.screen_reader,
                                 reader=self.reader, key_repeat=self.key_repeat)
        self.window.settings_requested.connect(self.open_settings)
        self.window.models_requested.connect(self.open_models)
        self.window.help_requested.connect(self.open_help)
        self.window.banner_wanted.connect(self.check_models)
        self.banner = None  # the missing-model banner while shown
        self._dismissed: set[str] = set()  # models whose banner the user dismissed this run
        self._checks = 0  # the newest missing-model check (older answers are stale)
        self.bridge.config_changed.connect(self._apply_config)
        self.bridge.shortcut_note.connect(self._shortcut_note)
        self.shortcut = None
        self.global_note = ""
        self.use_global = global_shortcut
        self._restart_shortcut(config)
        self.show_first_run = config.ui.show_first_run if first_run is None else first_run
        self.dialog = None  # the dialog open now, for tests and screenshots
        # Closed dialogs, deleted when the next one opens: a screen reader still asks about a
        # dialog just after it closes (which window, which control), and Qt warns about every
        # question on a deleted object.
        self._closed_dialogs: list = []

    def start(self) -> None:
        """Show the window and start the pipeline (returns at once)."""
        self.window.show()
        if self.bridge.config.history.show_on_start:
            self.window.load_history(self.bridge.previous_turns())
        self.bridge.start()
        self.bridge.task_finished.connect(self._on_task)
        self.first_run = None
        if self.show_first_run:
            # The guide opens with the window on a quick guess (no torch import); detecting the
            # GPU with torch takes seconds on the bridge's pool and refines it when back.
            from ui.window.dialogs.first_run import detect

            self.first_run = self.open_first_run(detect(use_torch=False))
            self.bridge.run_task("first-run-hardware", lambda _p, _c: detect())
        else:
            self.check_models()

    def check_models(self) -> None:
        """Look for a configured vision model that is missing (off the GUI thread); the answer
        shows or removes the banner. Not while the first-run guide is open: its choice decides
        which models are wanted, and it is checked again when the guide closes."""
        if self._guide_open():
            return
        from ui.bootstrap import model_store

        config = self.bridge.config
        self._checks += 1
        self.bridge.run_task(f"missing-models-{self._checks}",
                             lambda _p, _c: (config, model_store(config).missing()))

    def exec(self, quick: bool = False) -> int:
        """Run the event loop until the window is closed or SIGTERM or SIGINT (Ctrl+C in the
        terminal that started it) comes, then close everything (see the module docstring;
        `quick`: the process ends right after). Main thread. Returns the exit status."""
        quit_on = QuitOnSignal(self.qapp, (signal.SIGTERM, signal.SIGINT))
        try:
            status = int(self.qapp.exec())
        finally:
            quit_on.remove()
            self.close(quick=quick)
        return 0 if quit_on.received is not None else status

    def close(self, quick: bool = False) -> None:
        """Hide the window, stop the pipeline, commit history. `quick`: the process ends right
        after (`run_app`), so nothing is waited for that the exit ends anyway."""
        self.window.hide()  # gone at once; the threads stop behind it
        if self.shortcut is not None:
            self.shortcut.stop()
        self.bridge.shutdown(quick=quick)
        self.window.close()
        self.reader.stop()
        if self.key_repeat is not None:
            self.key_repeat.close()

    # -- dialogs ---------------------------------------------------------------------------------

    def open_settings(self):
        from ui.window.dialogs.settings import SettingsDialog

        dialog = SettingsDialog(self.bridge.config, self.config_path, self.window)
        dialog.saved.connect(self.bridge.reconfigure)
        return self._open(dialog)

    def open_models(self, focus: str = ""):
        from ui.window.dialogs.models import ModelsDialog

        return self._open(ModelsDialog(self.bridge, self.bridge.config, parent=self.window,
                                       focus=focus))

    def open_help(self):
        from ui.window.dialogs.help import HelpDialog

        return self._open(HelpDialog(self.global_note, self.window))

    def _guide_open(self) -> bool:
        try:
            return self.first_run is not None and self.first_run.isVisible()
        except RuntimeError:  # the closed guide was deleted
            return False

    def _on_task(self, task_id: str, result: object, error: str) -> None:
        if task_id == "first-run-hardware":
            if not error and self._guide_open():
                self.first_run.set_hardware(result)
        elif task_id == f"missing-models-{self._checks}":
            if error:
                log.warning("could not look for missing models: %s", error)
                return
            config, missing = result
            if config == self.bridge.config:  # else a newer check is on its way
                self._show_banner(missing)

    def _show_banner(self, missing) -> None:
        """Show the banner for the model the settings want and lack; remove it when they no
        longer want one (a preset chosen in the guide, the describer kept, Settings)."""
        from ui.window import banner as banner_mod

        ref = banner_mod.missing_vision_model(self.bridge.config, missing)
        if self.banner is not None and (self.banner.ref != ref or self.banner.isHidden()):
            self.banner.hide()
            self.banner.deleteLater()
            self.banner = None
        if not ref or self.banner is not None or ref in self._dismissed:
            return
        self.banner = banner_mod.ModelBanner(lambda: self.bridge.config, ref, self.config_path)
        self.banner.download_requested.connect(self.open_models)
        self.banner.config_saved.connect(self.bridge.reconfigure)
        self.banner.dismiss.clicked.connect(lambda: self._dismissed.add(ref))
        self.window.show_banner(self.banner)

    def open_first_run(self, hardware=None):
        from ui.window.dialogs.first_run import FirstRunDialog, Hardware

        if hardware is None:  # detection failed: recommend from memory alone
            hardware = Hardware(ram_gb=0.0, vram_gb=None)
        dialog = FirstRunDialog(self.bridge.config, self.config_path, hardware=hardware,
                                parent=self.window)
        dialog.saved.connect(self.bridge.reconfigure)
        # The guide's choice decides which models are wanted: the banner waits for it.
        dialog.finished.connect(lambda _r: self.check_models())
        return self._open(dialog)

    def _open(self, dialog):
        for old in self._closed_dialogs:
            old.deleteLater()
        self._closed_dialogs = []
        self.dialog = dialog
        dialog.finished.connect(lambda _r: self._closed(dialog))
        dialog.finished.connect(lambda _r: self._closed_dialogs.append(dialog))
        dialog.finished.connect(lambda _r: self.window.show_pending_error())
        dialog.open()  # window-modal, never blocks the event loop
        return dialog

    def _closed(self, dialog) -> None:
        if self.dialog is dialog:  # it is deleted later; never hand out a closed dialog
            self.dialog = None

    # -- config changes --------------------------------------------------------------------------

    def _apply_config(self, config: Config) -> None:
        from ui.window import theme

        theme.apply(self.qapp, config.ui.theme, config.ui.font_scale)
        self.window._update_talk()
        self._restart_shortcut(config)
        self.check_models()  # the banner follows the settings: shown, kept or removed

    def _restart_shortcut(self, config: Config) -> None:
        from ui.window.keys.shortcuts import GlobalShortcut, session_type

        if self.shortcut is not None:
            self.shortcut.stop()
            self.shortcut = None
        if not self.use_global:
            self._shortcut_note("Global push-to-talk is off for this run.")
            return
        combo, toggle = config.ui.global_shortcut, config.turns.mode == "toggle"
        if combo.strip() and session_type() == "wayland":
            from ui.window.keys.portal import PortalShortcut

            # Its thread reports through a queued signal, never touching widgets itself.
            self.shortcut = PortalShortcut(combo, self.bridge.submit, toggle,
                                           on_note=self.bridge.shortcut_note.emit)
        else:
            self.shortcut = GlobalShortcut(combo, self.bridge.submit, toggle=toggle,
                                           repeat=self.key_repeat)
        self._shortcut_note(self.shortcut.start())

    def _shortcut_note(self, note: str) -> None:
        self.global_note = note
        self.window.set_global_key_note(note)


def run_app(config: Config, *, pipeline_factory=None, config_path: Path | None = None) -> int:
    """Open the window and run until it is closed (or SIGTERM). Returns the exit status."""
    removed = clean_qt_environment()
    if removed:
        log.debug("removed OpenCV's Qt settings: %s", removed)
    os.environ.setdefault("QT_ACCESSIBILITY", "1")
    app = App(config, pipeline_factory=pipeline_factory, config_path=config_path)
    app.start()
    return app.exec(quick=True)
