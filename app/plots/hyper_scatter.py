"""A hyperparameter of several trials against their ranking metric: one labelled point per trial, in the
trial's colour. The learning rate sits on a logarithmic axis (rates are tried by factors, not steps)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.plots.rate_axis import RateAxis

# trial column -> (axis title, logarithmic axis)
PARAMETERS = {
    "lr": ("learning rate", True),
    "batch_size": ("batch size", False),
    "dropout": ("dropout", False),
    "weight_decay": ("weight decay", False),
}


@dataclass(frozen=True)
class Point:
    label: str  # "#12"
    colour: tuple[int, int, int]
    params: dict[str, float | None]  # PARAMETERS key -> value
    metric: float | None


class HyperScatter(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.chooser = QComboBox()
        for key, (title, _log) in PARAMETERS.items():
            self.chooser.addItem(title, key)
        self.chooser.setToolTip("The hyperparameter on the x axis")
        self.note = QLabel()
        self.plot = pg.PlotWidget(axisItems={"bottom": RateAxis(orientation="bottom")})
        for side in ("bottom", "left"):  # "(x0.001)" beside a rate or an accuracy only confuses
            self.plot.getAxis(side).enableAutoSIPrefix(False)
        self.plot.getViewBox().setDefaultPadding(0.08)  # points at the ends stay clear of the frame
        self._points: list[Point] = []
        self._metric_name = ""
        self.labels: list[pg.TextItem] = []
        self.scatter: pg.PlotDataItem | None = None
        top = QHBoxLayout()
        top.addWidget(QLabel("x axis"))
        top.addWidget(self.chooser)
        top.addWidget(self.note, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.plot, 1)
        self.chooser.currentIndexChanged.connect(lambda _i: self._draw())

    @property
    def parameter(self) -> str:
        return self.chooser.currentData()

    def show_points(self, points: list[Point], metric_name: str) -> None:
        self._points, self._metric_name = list(points), metric_name
        self._draw()

    def _draw(self) -> None:
        key = self.parameter
        title, log_x = PARAMETERS[key]
        self.plot.clear()
        self.labels, self.scatter = [], None
        shown = [
            p
            for p in self._points
            if _finite(p.params.get(key)) and _finite(p.metric) and (not log_x or (p.params.get(key) or 0) > 0)
        ]
        self.plot.setLogMode(x=log_x, y=False)
        self.plot.setLabel("bottom", title)
        self.plot.setLabel("left", self._metric_name)
        missing = len(self._points) - len(shown)
        self.note.setText(
            f"{missing} of {len(self._points)} trials have no {title} or {self._metric_name}" if missing else ""
        )
        if not shown:
            return
        x = np.array([float(p.params[key]) for p in shown])  # type: ignore[arg-type]
        y = np.array([float(p.metric) for p in shown])  # type: ignore[arg-type]
        brushes = [pg.mkBrush(p.colour) for p in shown]
        self.scatter = self.plot.plot(
            x, y, pen=None, symbol="o", symbolSize=10, symbolBrush=brushes, symbolPen=pg.mkPen("w")
        )
        for p, xi, yi in zip(shown, x, y):
            text = pg.TextItem(p.label, color=p.colour, anchor=(0, 1))
            text.setPos(math.log10(xi) if log_x else xi, yi)  # items placed by position use view units
            self.plot.addItem(text)
            self.labels.append(text)

    def point_count(self) -> int:
        return 0 if self.scatter is None else len(self.scatter.getData()[0])


def _finite(v: float | None) -> bool:
    return v is not None and math.isfinite(v)
