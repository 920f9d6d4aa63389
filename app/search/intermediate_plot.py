"""Intermediate values: what the pruner sees, one line per trial over its epochs, drawn as the trial reports. A
pruned trial's line turns grey and dashed where it stopped; a failed or stopped one grey and dotted."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.plots.epoch_curves import colour
from app.plots.pens import line_pen
from app.search.plot_base import PRUNED_COLOUR, make_plot
from app.search.trial_log import TrialRow

SYMBOL_SIZE = 4


class IntermediatePlot(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = make_plot("Intermediate values", "epoch", "value", counted_x=True)
        self._lines: dict[int, pg.PlotDataItem] = {}  # by Optuna trial number
        self._styles: dict[int, str] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)

    def show_row(self, row: TrialRow) -> None:
        line = self._lines.get(row.number)
        if line is None:
            line = self._lines[row.number] = pg.PlotDataItem(symbol="o", symbolSize=SYMBOL_SIZE)
            self.plot.addItem(line)
        style = self._style_of(row.state)
        if self._styles.get(row.number) != style:
            self._restyle(line, row.number, style)
        epochs, values = row.intermediate()
        line.setData([float(e) for e in epochs], values)

    @staticmethod
    def _style_of(state: str) -> str:
        return {"pruned": "pruned", "failed": "ended", "stopped": "ended"}.get(state, "live")

    def _restyle(self, line: pg.PlotDataItem, number: int, style: str) -> None:
        self._styles[number] = style
        if style == "live":
            pen = line_pen(colour(number))
            line.setZValue(1)
        else:
            dash = Qt.PenStyle.DashLine if style == "pruned" else Qt.PenStyle.DotLine
            pen = line_pen(PRUNED_COLOUR, style=dash)
            line.setZValue(0)  # the trials that went on stay on top
        line.setPen(pen)
        line.setSymbolPen(pen)
        line.setSymbolBrush(pg.mkBrush(pen.color()))

    def show_rows(self, rows: list[TrialRow], value_label: str) -> None:
        self.clear()
        self.plot.setLabel("left", value_label)
        for row in rows:
            self.show_row(row)

    def set_value_label(self, value_label: str) -> None:
        self.plot.setLabel("left", value_label)

    def clear(self) -> None:
        for line in self._lines.values():
            self.plot.removeItem(line)
        self._lines.clear()
        self._styles.clear()

    # ---- reading back (tests) ----------------------------------------------------------------
    def line_count(self) -> int:
        return len(self._lines)

    def line_style(self, number: int) -> Qt.PenStyle | None:
        line = self._lines.get(number)
        return line.opts["pen"].style() if line is not None else None

    def line_points(self, number: int) -> int:
        line = self._lines.get(number)
        x = line.getData()[0] if line is not None else None
        return 0 if x is None else len(x)
