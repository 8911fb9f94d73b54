"""The live camera picture, drawn to fill its place: no frame, no letterbox bars.

The widget keeps the aspect ratio of the last picture (`heightForWidth`), so the layout gives
it exactly the picture's shape; the picture is scaled once per paint, with fast scaling, on the
GUI thread. Without a picture it shows its text ("No camera picture yet."), centred. It keeps
no reference to the frame's buffer: `set_image` copies into a QPixmap at once.

It is a QLabel holding the picture so that screen readers see an image (AT-SPI role "image")
with the accessible name the window gives it; the label's own drawing and size hints, which
follow the full-size picture, are replaced by the ones here.
"""
from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QImage, QPainter, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class CameraView(QLabel):
    def __init__(self, text: str = "No camera picture yet.",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.placeholder = text
        self.picture: QPixmap | None = None
        self.aspect = 4 / 3  # width / height, until the first picture says otherwise
        policy = QSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.setMinimumSize(240, 180)

    def set_image(self, image: QImage) -> None:
        """Show a new picture (GUI thread)."""
        if image.isNull():
            return
        aspect = image.width() / max(1, image.height())
        self.picture = QPixmap.fromImage(image)
        self.setPixmap(self.picture)  # what accessibility reports; drawing is paintEvent's
        if abs(aspect - self.aspect) > 1e-3:
            self.aspect = aspect
            self.updateGeometry()
        self.update()

    def clear(self, text: str | None = None) -> None:
        self.picture = None
        super().clear()
        if text is not None:
            self.placeholder = text
        self.update()

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt API
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt API
        return round(width / self.aspect)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(480, round(480 / self.aspect))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(240, 180)

    def target(self) -> QRect:
        """Where the picture is drawn: the largest rectangle of its shape, centred."""
        w, h = self.width(), self.height()
        if w / max(1, h) > self.aspect:
            tw, th = round(h * self.aspect), h
        else:
            tw, th = w, round(w / self.aspect)
        return QRect((w - tw) // 2, (h - th) // 2, tw, th)

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        if self.picture is None:
            painter.drawText(self.rect(), Qt.AlignCenter | Qt.TextWordWrap, self.placeholder)
            return
        painter.drawPixmap(self.target(), self.picture)
