"""The layout every tab shares: a scrollable column of inputs on the left, what they produce on the right."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QScrollArea, QSplitter, QVBoxLayout, QWidget


def inputs_beside_view(
    owner: QWidget, inputs: QWidget, view: QWidget, min_width: int = 340, width: int = 400
) -> QSplitter:
    """Lay `owner` out as inputs (scrolling when taller than the window) beside view; returns the splitter."""
    scroll = scrolling(inputs, framed=True)
    scroll.setMinimumWidth(min_width)
    splitter = QSplitter(Qt.Orientation.Horizontal)
    splitter.addWidget(scroll)
    splitter.addWidget(view)
    splitter.setStretchFactor(1, 1)
    splitter.setSizes([width, 900])
    layout = QVBoxLayout(owner)
    layout.setContentsMargins(4, 4, 4, 4)
    layout.addWidget(splitter)
    return splitter


def scrolling(widget: QWidget, framed: bool = False) -> QScrollArea:
    """`widget` filling a scroll area: it grows with the area, and scrolls once the area is below its minimum."""
    scroll = QScrollArea()
    scroll.setWidget(widget)
    scroll.setWidgetResizable(True)
    if not framed:
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    return scroll
