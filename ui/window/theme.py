"""Colours, focus outline and font size for the whole application.

Themes: "system" (the platform palette), "light", "dark" and "high-contrast" (black on white
text with thick yellow focus outline and 7:1+ contrast everywhere). Font size follows the system
font and is multiplied by `ui.font_scale`. Nothing in the window carries meaning by colour alone:
states are also written out in words.
"""
from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

#: the colour of a field's problem text (objectName "fieldError"), per theme
_ERROR = {"system": "#b00020", "light": "#b00020", "dark": "#ff8a80", "high-contrast": "#ffff00"}
#: high contrast: the progress chunk (white text on it must stay at 7:1) and its outline
_HC_CHUNK, _HC_CHUNK_EDGE = "#0000cc", "#ffff00"

#: Qt's own arrow images (dark), drawn on the white spin box buttons of high contrast
_ARROWS = ":/qt-project.org/styles/commonstyle/images"

# The font the platform gave us before any scaling, so re-applying a scale never compounds.
_BASE_POINT_SIZE: float | None = None

#: the outline of text areas and lists when they do not have the focus (3:1 against the window,
#: WCAG 2.1's least for the edge of a control)
_EDGE = {"system": "#8a8a8a", "light": "#8a8a8a", "dark": "#80868b", "high-contrast": "#ffffff"}
#: text areas and lists: their outline is styled in every state, or Qt keeps the native frame
#: and never draws the focus outline on them (it repaints only the viewport on focus)
AREAS = ("QTextEdit", "QPlainTextEdit", "QAbstractItemView")

_FOCUS = {
    "system": "#1a73e8",
    "light": "#1a56db",
    "dark": "#8ab4f8",
    "high-contrast": "#ffff00",
}


def _colours(theme: str) -> dict[str, str]:
    if theme == "dark":
        colours = dict(window="#202124", text="#e8eaed", base="#2b2c2f", button="#3c4043",
                       highlight="#8ab4f8", highlighted="#202124", link="#8ab4f8",
                       disabled="#b4b8bc")
    elif theme == "high-contrast":
        colours = dict(window="#000000", text="#ffffff", base="#000000", button="#000000",
                       highlight="#ffff00", highlighted="#000000", link="#ffff00",
                       disabled="#c0c0c0")
    else:
        colours = dict(window="#f5f5f5", text="#111111", base="#ffffff", button="#e8e8e8",
                       highlight="#1a56db", highlighted="#ffffff", link="#1a56db",
                       disabled="#5f6368")
    return colours


def _palette(theme: str) -> QPalette | None:
    if theme == "system":
        return None
    pal = QPalette()
    c = {k: QColor(v) for k, v in _colours(theme).items()}
    for role, key in ((QPalette.Window, "window"), (QPalette.WindowText, "text"),
                      (QPalette.Base, "base"), (QPalette.AlternateBase, "window"),
                      (QPalette.Text, "text"), (QPalette.Button, "button"),
                      (QPalette.ButtonText, "text"), (QPalette.ToolTipBase, "base"),
                      (QPalette.ToolTipText, "text"), (QPalette.Highlight, "highlight"),
                      (QPalette.HighlightedText, "highlighted"), (QPalette.Link, "link"),
                      (QPalette.PlaceholderText, "disabled")):
        pal.setColor(role, c[key])
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        pal.setColor(QPalette.Disabled, role, c["disabled"])
    return pal


def luminance(colour: str) -> float:
    """WCAG 2.1 relative luminance of "#rrggbb"."""
    def channel(v: int) -> float:
        x = v / 255
        return x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4

    q = QColor(colour)
    return 0.2126 * channel(q.red()) + 0.7152 * channel(q.green()) + 0.0722 * channel(q.blue())


def contrast(fg: str, bg: str) -> float:
    """WCAG 2.1 contrast ratio, 1 to 21."""
    a, b = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def text_pairs(theme: str) -> list[tuple[str, str, str]]:
    """(what, text colour, background) for every kind of text a theme draws: the palette's
    roles and the style sheet's own colours. Tests hold them to WCAG's 7:1 (high contrast)."""
    if theme == "system":
        return []
    c = _colours(theme)
    pairs = [("window text", c["text"], c["window"]), ("field text", c["text"], c["base"]),
             ("button text", c["text"], c["button"]),
             ("selected text", c["highlighted"], c["highlight"]),
             ("disabled text", c["disabled"], c["window"]),
             ("disabled button text", c["disabled"], c["button"]),
             ("link", c["link"], c["base"]), ("placeholder", c["disabled"], c["base"]),
             ("field problem", _ERROR[theme], c["window"])]
    if theme == "high-contrast":
        pairs += [("progress text on the bar", "#ffffff", _HC_CHUNK),
                  ("menu selection", "#000000", "#ffff00")]
    return pairs


#: every kind of control that takes keyboard focus somewhere in Glimpse: each gets the focus
#: outline (the read-only text fields too: Status, Timing, the conversation...). The tests grab
#: every focusable control of the window and its dialogs and look for the outline's pixels.
FOCUSABLE = ("QPushButton", "QToolButton", "QComboBox", "QLineEdit", "QCheckBox",
             "QRadioButton", "QTextEdit", "QPlainTextEdit", "QTextBrowser", "QListView",
             "QListWidget", "QTableView", "QTableWidget", "QTreeView", "QSpinBox",
             "QDoubleSpinBox", "QSlider", "QProgressBar")


def focus_colour(theme: str) -> str:
    return _FOCUS.get(theme, _FOCUS["system"])


def focus_width(theme: str) -> int:
    return 4 if theme == "high-contrast" else 3


def stylesheet(theme: str) -> str:
    """Visible focus on every control (a 3 px outline, 4 px in high contrast). The outline
    takes its room from the padding, so a focused control keeps its size and its label."""
    focus = focus_colour(theme)
    width = focus_width(theme)
    focused = ", ".join(f"{kind}:focus" for kind in FOCUSABLE)
    edge_w = 2 if theme == "high-contrast" else 1
    areas, areas_focused = ", ".join(AREAS), ", ".join(f"{kind}:focus" for kind in AREAS)
    sheet = f"""
    {focused} {{
        border: {width}px solid {focus};
    }}
    {areas} {{ border: {edge_w}px solid {_EDGE.get(theme, _EDGE["system"])};
        padding: {width - edge_w}px; }}
    {areas_focused} {{ border: {width}px solid {focus}; padding: 0px; }}
    QSpinBox::up-button, QSpinBox::down-button {{ subcontrol-origin: padding; }}
    QLineEdit, QComboBox, QSpinBox, QDoubleSpinBox {{ padding: 2px 4px; }}
    QTabBar::tab:focus {{ border: {width}px solid {focus}; }}
    QAbstractItemView QPushButton {{ background: palette(button); color: palette(button-text);
        border: {edge_w}px solid {_EDGE.get(theme, _EDGE["system"])}; }}
    QPushButton {{ padding: 6px 12px; }}
    QPushButton:focus {{ padding: 4px 10px; }}
    QPushButton#pushToTalk {{ font-size: 150%; font-weight: bold; padding: 18px; }}
    QPushButton#pushToTalk:focus {{ padding: 16px; }}
    QPushButton#pushToTalk[talking="true"] {{ border: {width + 1}px dashed {focus}; }}
    QFrame#banner {{ border: 2px solid {focus}; border-radius: 4px; }}
    QLabel#fieldError {{ color: {_ERROR.get(theme, _ERROR["system"])}; font-weight: bold; }}
    """
    if theme == "high-contrast":
        # Every control keeps its shape (a white outline) and its state: check boxes and radio
        # buttons are drawn boxes, filled yellow when on; disabled controls have a dashed grey
        # outline and grey text; dialog buttons carry words, not dark icons on black.
        sheet += f"""
        QWidget {{ background: #000000; color: #ffffff; }}
        QPushButton, QToolButton, QComboBox, QLineEdit, QTextBrowser, QProgressBar,
        QSpinBox, QDoubleSpinBox, QTabBar::tab, QTabWidget::pane, QMenu {{
            border: 2px solid #ffffff; }}
        QPushButton:disabled, QToolButton:disabled, QComboBox:disabled, QLineEdit:disabled,
        QSpinBox:disabled {{ color: #c0c0c0; border: 2px dashed #c0c0c0; }}
        QTabBar::tab {{ padding: 4px 10px; }}
        QTabBar::tab:selected {{ background: #ffff00; color: #000000; }}
        QTabBar::tab:selected:focus {{ background: #000000; color: #ffff00;
            border: {width}px solid {focus}; font-weight: bold; }}
        QCheckBox::indicator, QRadioButton::indicator, QTableView::indicator {{
            width: 16px; height: 16px; border: 2px solid #ffffff; background: #000000; }}
        QRadioButton::indicator {{ border-radius: 10px; }}
        QCheckBox::indicator:checked, QRadioButton::indicator:checked {{
            background: #ffff00; border: 2px solid #ffffff; }}
        QCheckBox::indicator:disabled, QRadioButton::indicator:disabled {{
            border: 2px dashed #c0c0c0; }}
        QHeaderView::section {{ background: #000000; color: #ffffff; border: 1px solid #ffffff;
            padding: 2px 4px; }}
        QSpinBox::up-button, QSpinBox::down-button {{ background: #ffffff; width: 18px;
            border: 1px solid #000000; subcontrol-origin: padding; }}
        QSpinBox::up-button:disabled, QSpinBox::down-button:disabled {{ background: #c0c0c0; }}
        QSpinBox::up-arrow {{ image: url({_ARROWS}/arrow-up-16.png); width: 10px; height: 10px; }}
        QSpinBox::down-arrow {{ image: url({_ARROWS}/arrow-down-16.png); width: 10px;
            height: 10px; }}
        QProgressBar {{ min-height: 1.6em; text-align: center; }}
        QProgressBar::chunk {{ background: {_HC_CHUNK}; border: 2px solid {_HC_CHUNK_EDGE}; }}
        QToolTip {{ background: #000000; color: #ffffff; border: 2px solid #ffff00; }}
        QDialogButtonBox {{ dialogbuttonbox-buttons-have-icons: 0; }}
        QMenuBar::item:selected, QMenu::item:selected {{ background: #ffff00; color: #000000; }}
        QMenu::item {{ padding: 4px 16px; }}
        QMenu::separator {{ height: 2px; background: #ffffff; margin: 4px 8px; }}
        """
    return sheet


def apply(app: QApplication, theme: str = "system", font_scale: float = 1.0) -> None:
    """Apply colours, focus outline and font scale. Safe to call again after a settings change."""
    global _BASE_POINT_SIZE
    font = QFont(app.font())
    if _BASE_POINT_SIZE is None:
        _BASE_POINT_SIZE = font.pointSizeF() if font.pointSizeF() > 0 else 10.0
    font.setPointSizeF(max(6.0, _BASE_POINT_SIZE * font_scale))
    app.setFont(font)
    pal = _palette(theme)
    app.setPalette(pal if pal is not None else app.style().standardPalette())
    app.setStyleSheet(stylesheet(theme))
