"""Colours, focus outline and font size for the whole application.

Themes: "system" (the platform palette), "light", "dark" and "high-contrast" (black on white
text with thick yellow focus outline and 7:1+ contrast everywhere). Font size follows the system
font and is multiplied by `ui.font_scale`. Nothing in the window carries meaning by colour alone:
states are also written out in words.
"""
from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

# The font the platform gave us before any scaling, so re-applying a scale never compounds.
_BASE_POINT_SIZE: float | None = None

_FOCUS = {
    "system": "#1a73e8",
    "light": "#1a56db",
    "dark": "#8ab4f8",
    "high-contrast": "#ffff00",
}


def _palette(theme: str) -> QPalette | None:
    if theme == "system":
        return None
    pal = QPalette()
    if theme == "dark":
        colours = dict(window="#202124", text="#e8eaed", base="#2b2c2f", button="#3c4043",
                       highlight="#8ab4f8", highlighted="#202124", link="#8ab4f8",
                       disabled="#9aa0a6")
    elif theme == "high-contrast":
        colours = dict(window="#000000", text="#ffffff", base="#000000", button="#000000",
                       highlight="#ffff00", highlighted="#000000", link="#ffff00",
                       disabled="#c0c0c0")
    else:
        colours = dict(window="#f5f5f5", text="#111111", base="#ffffff", button="#e8e8e8",
                       highlight="#1a56db", highlighted="#ffffff", link="#1a56db",
                       disabled="#5f6368")
    c = {k: QColor(v) for k, v in colours.items()}
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


def stylesheet(theme: str) -> str:
    """Visible focus on every control (a 3 px outline, 4 px in high contrast)."""
    focus = _FOCUS.get(theme, _FOCUS["system"])
    width = 4 if theme == "high-contrast" else 3
    sheet = f"""
    QPushButton:focus, QToolButton:focus, QComboBox:focus, QLineEdit:focus, QCheckBox:focus,
    QRadioButton:focus, QTextBrowser:focus, QListWidget:focus, QTableWidget:focus,
    QSpinBox:focus, QDoubleSpinBox:focus, QSlider:focus, QProgressBar:focus {{
        border: {width}px solid {focus};
    }}
    QPushButton {{ padding: 6px 12px; }}
    QPushButton#pushToTalk {{ font-size: 150%; font-weight: bold; padding: 18px; }}
    QPushButton#pushToTalk[talking="true"] {{ border: {width + 1}px dashed {focus}; }}
    """
    if theme == "high-contrast":
        sheet += """
        QWidget { background: #000000; color: #ffffff; }
        QPushButton, QComboBox, QLineEdit, QTextBrowser, QProgressBar, QListWidget,
        QTableWidget { border: 2px solid #ffffff; }
        QProgressBar::chunk { background: #ffff00; }
        QMenuBar::item:selected, QMenu::item:selected { background: #ffff00; color: #000000; }
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
