"""Pens for curves that look the same width at every display scale.

pyqtgraph's pens are cosmetic: their width is in device pixels, so at 2× scaling a 1 px line is half as wide as
the text and axes around it. Widths here are in logical pixels, multiplied by the screen's device pixel ratio.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QPen


def pixel_ratio() -> float:
    """Device pixels per logical pixel on the primary screen (2.0 at 200 % scaling)."""
    screen = QGuiApplication.primaryScreen()
    return screen.devicePixelRatio() if screen is not None else 1.0


def line_pen(color: object, width: float = 1, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = pg.mkPen(color, width=width * pixel_ratio(), style=style)
    pen.setCosmetic(True)  # the width stays the same however far the plot is zoomed
    return pen
