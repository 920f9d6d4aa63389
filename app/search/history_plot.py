"""Optimisation history: each finished trial's value against its number (completed filled, pruned hollow and grey),
and the best value so far as a step line over the completed ones."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.plots.pens import line_pen
from app.search.plot_base import BEST_COLOUR, COMPLETE_COLOUR, PRUNED_COLOUR, make_plot
from app.search.trial_log import TrialRow

SYMBOL_SIZE = 8


class HistoryPlot(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = make_plot("Optimisation history", "trial", "value", counted_x=True)
        self.key = QLabel(_key_text())  # under the plot: a legend inside it would hide points
        self.complete = self._points("completed", COMPLETE_COLOUR, filled=True)
        self.pruned = self._points("pruned", PRUNED_COLOUR, filled=False)
        self.best = pg.PlotDataItem(name="best so far", pen=line_pen(BEST_COLOUR, 2), stepMode="left")
        self.plot.addItem(self.best)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.key)

    def _points(self, name: str, colour: tuple[int, int, int], filled: bool) -> pg.PlotDataItem:
        item = pg.PlotDataItem(
            name=name,
            pen=None,
            symbol="o",
            symbolSize=SYMBOL_SIZE,
            symbolPen=line_pen(colour),
            symbolBrush=pg.mkBrush(colour) if filled else pg.mkBrush(0, 0, 0, 0),
        )
        self.plot.addItem(item)
        return item

    def show_trials(self, rows: list[TrialRow], maximise: bool, value_label: str) -> None:
        """Redraw from the finished trials (a few hundred points: cheap), best so far by the search's direction."""
        self.plot.setLabel("left", value_label)
        done = [r for r in rows if r.state == "complete" and r.value is not None]
        pruned = [r for r in rows if r.state == "pruned" and r.value is not None]
        self._set(self.complete, done)
        self._set(self.pruned, pruned)
        if not done:
            self.best.setData([], [])
            return
        x = np.array([r.number for r in done], dtype=float)
        y = np.array([r.value for r in done], dtype=float)
        running = np.maximum.accumulate(y) if maximise else np.minimum.accumulate(y)
        last = max(r.number for r in rows)  # the line runs on to the last trial shown
        self.best.setData(np.append(x, last + 0.5), np.append(running, running[-1]))

    @staticmethod
    def _set(item: pg.PlotDataItem, rows: list[TrialRow]) -> None:
        item.setData(np.array([r.number for r in rows], dtype=float), np.array([r.value for r in rows], dtype=float))

    def clear(self) -> None:
        for item in (self.complete, self.pruned, self.best):
            item.setData([], [])

    def point_count(self) -> int:
        """Points on show (completed and pruned trials)."""
        return sum(_count(item) for item in (self.complete, self.pruned))

    def best_line(self) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.best.getData()
        return (np.asarray(x if x is not None else []), np.asarray(y if y is not None else []))


def _key_text() -> str:
    def css(rgb: tuple[int, int, int]) -> str:
        return "rgb({}, {}, {})".format(*rgb)

    return (
        f'<span style="color: {css(COMPLETE_COLOUR)}">●</span> completed &nbsp; '
        f'<span style="color: {css(PRUNED_COLOUR)}">○</span> pruned &nbsp; '
        f'<span style="color: {css(BEST_COLOUR)}">━</span> best so far'
    )


def _count(item: pg.PlotDataItem) -> int:
    x = item.getData()[0]
    return 0 if x is None else len(x)
