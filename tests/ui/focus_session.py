"""The window's keyboard and its look, on a real X server (run by tests/ui/test_gui_focus.py in a
subprocess): the pipeline runs on the test fakes (injected through `ui.bootstrap.bootstrap`),
history holds an earlier session.

- Every focusable control of the window and of its dialogs, in each theme: focused, grabbed from
  the X server, and its outline measured (the share of each side's pixels in the focus colour).
  A contact sheet per theme is saved: focus-<theme>.png.
- High contrast: a menu's outline over the camera picture, the conversation's and the search
  detail's outlines, the Settings page's frame; the Advanced page's rows tall enough for
  "What it does".
- Real key presses (XTest): Ctrl+L, typing, Ctrl+E and Ctrl+D while the question box has focus.
- The conversation follows a new answer when the user had scrolled up, and keeps the place when
  nothing new came.
- The earlier session's turns, and the note that says where the older ones are.

    python -m tests.ui.focus_session OUT.json --shots DIR
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ui.window.app import clean_qt_environment

STEP_TIMEOUT_S = 60.0
THEMES = ("light", "high-contrast", "dark", "system")


def side_shares(image, rect, colour, width: int) -> list[float]:
    """For each side of `rect` (top, bottom, left, right) in `image` (QImage), the share of the
    pixels of its outer `width`-pixel band that are the focus colour (within 40 per channel)."""
    from PySide6.QtGui import QColor

    want = QColor(colour)

    def near(x: int, y: int) -> bool:
        c = QColor(image.pixel(x, y))
        return (abs(c.red() - want.red()) < 40 and abs(c.green() - want.green()) < 40
                and abs(c.blue() - want.blue()) < 40)

    x0, y0, x1, y1 = rect.left(), rect.top(), rect.right(), rect.bottom()
    bands = (
        [(x, y) for x in range(x0 + width, x1 - width) for y in range(y0, y0 + width)],
        [(x, y) for x in range(x0 + width, x1 - width) for y in range(y1 - width + 1, y1 + 1)],
        [(x, y) for y in range(y0 + width, y1 - width) for x in range(x0, x0 + width)],
        [(x, y) for y in range(y0 + width, y1 - width) for x in range(x1 - width + 1, x1 + 1)],
    )
    inside = image.rect()
    out = []
    for band in bands:
        band = [(x, y) for x, y in band if inside.contains(x, y)]
        out.append(round(sum(near(x, y) for x, y in band) / len(band), 3) if band else 0.0)
    return out


def focusable(top):
    """The controls of a window that Tab reaches (not the editors inside a combo or spin box,
    which pass their focus to it)."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QWidget

    out = []
    for widget in top.findChildren(QWidget):
        inner = any(isinstance(p, (QComboBox, QAbstractSpinBox)) for p in _parents(widget, top))
        if (widget.window() is top and not inner and widget.focusProxy() is None
                and widget.isVisible() and widget.isEnabled()
                and widget.focusPolicy() & Qt.TabFocus and widget.width() > 4):
            out.append(widget)
    return out


def _parents(widget, top):
    p = widget.parentWidget()
    while p is not None and p is not top:
        yield p
        p = p.parentWidget()


def label_of(widget) -> str:
    text = widget.accessibleName() or getattr(widget, "text", lambda: "")() or \
        widget.objectName() or type(widget).__name__
    return " ".join(str(text).replace("&", "").split())[:40]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--shots", required=True)
    args = parser.parse_args()
    clean_qt_environment()

    from PIL import Image, ImageDraw
    from PySide6.QtCore import QPoint, QRect, Qt
    from PySide6.QtWidgets import QApplication, QFileDialog, QMenu, QTabBar

    from assistant.config import Config, data_dir
    from assistant.history import HistoryStore, TurnRecord, store_path
    from tests.support.window import DialogWatch, FakeFactory, Steps
    from ui.window import theme
    from ui.window.app import App
    from ui.window.dialogs.first_run import detect
    from ui.window.dialogs.find_history import HistorySearchDialog

    shots = Path(args.shots)
    shots.mkdir(parents=True, exist_ok=True)
    # An earlier session: ten turns, one that failed (history keeps its error as "Error: ...").
    store = HistoryStore(store_path(data_dir()))
    for i in range(1, 11):
        store.append(TurnRecord(turn_id=i, started=time.time() - 3600 + i, session="earlier",
                                question=f"old question {i}", answer=f"old answer {i}",
                                notes=("Error: the voice stopped.",) if i == 10 else ()))
    store.close()

    qapp = QApplication(sys.argv[:1])
    dialogs = DialogWatch(qapp)
    factory = FakeFactory()
    app = App(Config().with_value("models.offline", True), pipeline_factory=factory,
              global_shortcut=False, first_run=False, history_dir=data_dir())
    w = app.window
    result: dict = {"focus": {}, "screenshots": [], "high_contrast": {}, "keys": {},
                    "follow": {}}

    def settle():
        yield lambda: True, 1
        yield lambda: True, 1

    def active(top):
        top.activateWindow()
        top.raise_()
        return lambda: top.isActiveWindow()

    def check(top, where: str, name: str, sheet: list):
        """Focus each control of `top`, grab the window, measure the outline."""
        yield active(top), STEP_TIMEOUT_S
        colour, width = theme.focus_colour(name), theme.focus_width(name)
        import shiboken6

        for widget in focusable(top):
            if not shiboken6.isValid(widget):
                result.setdefault("gone", []).append(f"{where}: {type(widget).__name__}")
                continue
            widget.setFocus(Qt.TabFocusReason)
            yield from settle()
            image = top.screen().grabWindow(top.winId()).toImage()
            corner = widget.mapTo(top, QPoint(0, 0))
            rect = QRect(corner, widget.size())
            if isinstance(widget, QTabBar):  # the outline goes round the page's own tab
                rect = widget.tabRect(widget.currentIndex()).translated(corner)
            shares = side_shares(image, rect, colour, width)
            # Just inside the outline: not the outline's colour too, or it is no frame at all.
            inner = side_shares(image, rect.adjusted(width, width, -width, -width), colour, 2)
            key = f"{where}: {label_of(widget)}"
            result["focus"].setdefault(name, {})[key] = {
                "shares": shares, "inner": inner, "class": type(widget).__name__,
                "focused": widget.hasFocus()}
            crop = image.copy(rect.adjusted(-6, -6, 6, 6))
            sheet.append((key, crop))

    def contact_sheet(name: str, sheet: list) -> None:
        """Every focused control at its own size (captions above), rows left to right."""
        font = None
        dejavu = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
        if dejavu.exists():
            from PIL import ImageFont

            font = ImageFont.truetype(str(dejavu), 12)
        pieces = []
        for key, crop in sheet:
            path = shots / "_crop.png"
            crop.save(str(path))
            piece = Image.open(path).convert("RGB")
            piece.thumbnail((1180, 300))
            pieces.append((key, piece))
        (shots / "_crop.png").unlink(missing_ok=True)
        width, gap, caption = 1200, 10, 18
        places, x, y, row_h = [], 0, 0, 0
        for key, piece in pieces:
            if x and x + piece.width > width:
                x, y, row_h = 0, y + row_h + gap, 0
            places.append((key, piece, x, y))
            x += max(piece.width, 160) + gap
            row_h = max(row_h, piece.height + caption)
        canvas = Image.new("RGB", (width, y + row_h + gap), "#808080")
        draw = ImageDraw.Draw(canvas)
        for key, piece, px, py in places:
            draw.text((px, py + 2), key[:40], fill="#ffffff", font=font)
            canvas.paste(piece, (px, py + caption))
        out = shots / f"focus-{name}.png"
        canvas.save(out)
        result["screenshots"].append(str(out))

    def grab(widget, name: str) -> str:
        path = shots / f"{name}.png"
        widget.screen().grabWindow(widget.winId()).save(str(path))
        result["screenshots"].append(str(path))
        return str(path)

    def edges_white(image, rect) -> float:
        return min(side_shares(image, rect, "#ffffff", 2))

    def finished() -> int:
        return sum(1 for t in w.conversation.turns if t.finished)

    def steps():
        app.start()
        w.move(0, 0)
        w.resize(1200, 760)
        yield lambda: app.bridge.state == "running" and w.status.ready() \
            and w.preview.picture is not None, STEP_TIMEOUT_S
        w.view.render_now()
        result["restored"] = {"conversation": w.view.toPlainText(),
                              "turns": len(w.conversation.turns),
                              "errors": w.conversation.turns[-1].errors,
                              "notes": w.conversation.turns[-1].notes}
        result["frame_age_text"] = w.frozen_caption.text()
        # -- real keys from the question box -----------------------------------------------
        from pynput.keyboard import Controller, Key

        kb = Controller()
        yield active(w), STEP_TIMEOUT_S
        w.talk.setFocus()
        with kb.pressed(Key.ctrl):
            kb.press("l")
            kb.release("l")
        yield lambda: w.focusWidget() is w.question, STEP_TIMEOUT_S
        kb.type("hello")
        yield lambda: w.question.text() == "hello", STEP_TIMEOUT_S
        result["keys"]["ctrl+l"] = True
        shown = len(dialogs.shown)
        with kb.pressed(Key.ctrl):
            kb.press("e")
            kb.release("e")
        yield lambda: any(isinstance(x, QFileDialog) and x.isVisible()
                          for x in qapp.topLevelWidgets()), 10
        export = next(x for x in qapp.topLevelWidgets()
                      if isinstance(x, QFileDialog) and x.isVisible())
        result["keys"]["ctrl+e"] = {"title": export.windowTitle(),
                                    "question_text_kept": w.question.text()}
        export.reject()
        yield lambda: not any(isinstance(x, QFileDialog) and x.isVisible()
                              for x in qapp.topLevelWidgets()), 10
        result["keys"]["dialogs"] = dialogs.titles()[shown:]
        yield active(w), STEP_TIMEOUT_S
        w.question.setFocus()
        before = len(w.conversation.turns)
        with kb.pressed(Key.ctrl):
            kb.press("d")
            kb.release("d")
        yield lambda: len(w.conversation.turns) > before and w.conversation.turns[-1].finished, \
            STEP_TIMEOUT_S
        result["keys"]["ctrl+d"] = {"mode": w.conversation.turns[-1].mode,
                                    "question_text_kept": w.question.text()}
        # -- the conversation follows ------------------------------------------------------
        bar = w.view.verticalScrollBar()
        for i in range(3):
            n = finished()
            w.question.setText(f"question {i}")
            w.ask_typed()
            yield lambda n=n: finished() > n, STEP_TIMEOUT_S
        w.view.render_now()
        yield from settle()
        bar.setValue(bar.maximum() // 3)
        place = bar.value()
        w.view.refresh()
        w.view.render_now()  # a re-render with nothing new: the reading place stays
        result["follow"]["kept_place"] = (place, bar.value())
        n = finished()
        w.question.setText("and now?")
        w.ask_typed()
        yield lambda: finished() > n, STEP_TIMEOUT_S
        w.view.render_now()
        yield from settle()
        result["follow"]["after_answer"] = (bar.value(), bar.maximum())
        grab(w, "conversation-follows")
        # -- focus outlines, every theme -------------------------------------------------
        for name in THEMES:
            theme.apply(qapp, name)
            sheet: list = []
            w.device_bar.show_devices(["speaker", "microphone"])  # the bar's own buttons
            yield from check(w, "Window", name, sheet)
            w.device_bar.show_devices([])
            for title, make in (
                    ("Settings", lambda: app.open_settings()),
                    ("Models", lambda: app.open_models()),
                    ("Help", lambda: app.open_help()),
                    ("First run", lambda: app.open_first_run(detect(use_torch=False))),
                    ("Find in history", lambda: HistorySearchDialog(app.bridge, w))):
                dialog = make()
                dialog.show()
                yield dialog.isVisible, STEP_TIMEOUT_S
                if title == "Settings":
                    for page in range(dialog.tabs.count()):
                        dialog.tabs.setCurrentIndex(page)
                        yield from check(dialog, f"Settings {dialog.tabs.tabText(page)}",
                                         name, sheet)
                else:
                    yield from check(dialog, title, name, sheet)
                dialog.reject()
                yield lambda d=dialog: not d.isVisible(), STEP_TIMEOUT_S
            w.problems.show(f"A problem that needs you ({name}).")
            box = w.problems.box
            yield box.isVisible, STEP_TIMEOUT_S
            yield from check(box, "Problem dialog", name, sheet)
            box.done(0)
            contact_sheet(name, sheet)
            if name == "high-contrast":
                yield from high_contrast()
        theme.apply(qapp, "system")

    def high_contrast():
        hc = result["high_contrast"]
        # A menu over the camera picture keeps a white outline.
        menu: QMenu = w.menuBar().actions()[0].menu()
        menu.popup(w.preview.mapToGlobal(QPoint(40, 40)))
        yield menu.isVisible, STEP_TIMEOUT_S
        yield from settle()
        shot = w.screen().grabWindow(0)
        image = shot.toImage()
        hc["menu_edges"] = edges_white(image, menu.geometry())
        around = menu.geometry().adjusted(-20, -20, 20, 20)
        shot.copy(around).save(str(shots / "menu-high-contrast.png"))
        menu.hide()
        yield active(w), STEP_TIMEOUT_S
        w.talk.setFocus()
        yield from settle()
        image = w.screen().grabWindow(w.winId()).toImage()
        view = QRect(w.view.mapTo(w, QPoint(0, 0)), w.view.size())
        hc["conversation_edges"] = edges_white(image, view)
        search = HistorySearchDialog(app.bridge, w)
        search.show()
        yield search.isVisible, STEP_TIMEOUT_S
        yield active(search), STEP_TIMEOUT_S
        search.query.setFocus()
        yield from settle()
        image = search.screen().grabWindow(search.winId()).toImage()
        detail = QRect(search.detail.mapTo(search, QPoint(0, 0)), search.detail.size())
        hc["search_detail_edges"] = edges_white(image, detail)
        grab(search, "find-history-high-contrast")
        search.reject()
        settings = app.open_settings()
        yield settings.isVisible, STEP_TIMEOUT_S
        settings.resize(760, 560)
        yield active(settings), STEP_TIMEOUT_S
        yield from settle()
        image = settings.screen().grabWindow(settings.winId()).toImage()
        page = settings.tabs.currentWidget()
        pane = QRect(page.mapTo(settings, QPoint(0, 0)), page.size()).adjusted(-2, -2, 2, 2)
        hc["settings_page_edges"] = min(side_shares(image, pane, "#ffffff", 2)[1:])
        grab(settings, "settings-devices-high-contrast-check")
        settings.tabs.setCurrentIndex(settings.tabs.count() - 1)
        yield from settle()
        table = settings.advanced
        # "What it does" wraps inside its column (never elided), each row as tall as its text.
        cut = [table.item(r, 3).text() for r in range(table.rowCount())
               if table.rowHeight(r) < table.sizeHintForRow(r)]
        hc["advanced_wraps"] = table.wordWrap() and table.textElideMode() == Qt.ElideNone
        hc["advanced_rows_cut"] = cut
        grab(settings, "settings-advanced-high-contrast-check")
        settings.reject()

    ok = Steps(qapp, steps(), result).run()
    result["dialogs"] = dialogs.shown
    app.close()
    Path(args.out).write_text(json.dumps(result, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
