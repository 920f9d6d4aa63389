"""The Evaluation view's two pictures: the confusion matrix as a heat map (shares of each true class, with the
counts written in the cells) and the reliability diagram (accuracy per confidence bin against the diagonal)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont

from app.plots.pens import line_pen

COUNTS_UP_TO = 20  # classes; a larger matrix is only coloured
COUNT_FONT = QFont()
COUNT_FONT.setPointSize(8)
BLUE = (31, 119, 180)
# white (no samples) to the palette's blue (every sample of the true class)
HEAT = pg.ColorMap(np.array([0.0, 1.0]), np.array([(255, 255, 255, 255), (*BLUE, 255)], dtype=np.ubyte))


def _class_ticks(names: tuple[str, ...]) -> list[list[tuple[float, str]]]:
    step = max(1, len(names) // 20)  # at most ~20 labels an axis
    return [[(i + 0.5, names[i]) for i in range(0, len(names), step)]]


class ConfusionHeatmap(pg.PlotWidget):
    def __init__(self) -> None:
        super().__init__(title="Confusion matrix (share of each true class)")
        self.image = pg.ImageItem()
        self.image.setLookupTable(HEAT.getLookupTable(nPts=256))
        self.addItem(self.image)
        self.setLabel("bottom", "predicted class")
        self.setLabel("left", "true class")
        self.invertY(True)
        self.setMenuEnabled(False)
        self.setAspectLocked(True)
        self.texts: list[pg.TextItem] = []

    def show_evaluation(self, ev: Any) -> None:
        for item in self.texts:
            self.removeItem(item)
        self.texts = []
        shares = np.asarray(ev.confusion_normalised, dtype=np.float64)
        k = shares.shape[0]
        self.image.setImage(shares.T, levels=(0.0, 1.0))  # ImageItem's first axis is x: the predicted class
        self.image.setRect(QRectF(0, 0, k, k))
        ticks = _class_ticks(tuple(ev.class_names))
        self.getAxis("bottom").setTicks(ticks)
        self.getAxis("left").setTicks(ticks)
        if k <= COUNTS_UP_TO:
            for i, j in zip(*np.nonzero(np.asarray(ev.confusion))):  # empty cells stay blank: the eye finds the rest
                dark = shares[i, j] > 0.55
                text = pg.TextItem(str(int(ev.confusion[i, j])), color="w" if dark else "k", anchor=(0.5, 0.5))
                text.setFont(COUNT_FONT)
                text.setPos(j + 0.5, i + 0.5)
                self.addItem(text)
                self.texts.append(text)
        self.setRange(xRange=(0, k), yRange=(0, k), padding=0.02)


class ReliabilityPlot(pg.PlotWidget):
    def __init__(self) -> None:
        super().__init__(title="Reliability")
        self.setLabel("bottom", "confidence")
        self.setLabel("left", "accuracy")
        self.setMenuEnabled(False)
        self.bars: pg.BarGraphItem | None = None
        self.addItem(pg.PlotDataItem([0.0, 1.0], [0.0, 1.0], pen=line_pen((127, 127, 127), 1, Qt.PenStyle.DashLine)))
        self.points = pg.PlotDataItem(symbol="o", symbolSize=6, pen=None, symbolBrush=pg.mkBrush(255, 127, 14))
        self.addItem(self.points)
        self.setRange(xRange=(0, 1), yRange=(0, 1), padding=0.02)

    def show_evaluation(self, ev: Any) -> None:
        rel = ev.reliability
        edges = np.asarray(rel.edges, dtype=np.float64)
        filled = np.asarray(rel.counts) > 0
        if self.bars is not None:
            self.removeItem(self.bars)
        self.bars = pg.BarGraphItem(
            x0=edges[:-1][filled],
            x1=edges[1:][filled],
            height=np.asarray(rel.accuracy, dtype=np.float64)[filled],
            brush=pg.mkBrush(*BLUE, 170),
            pen=pg.mkPen(255, 255, 255, 120),
        )
        self.addItem(self.bars)
        self.points.setData(
            np.asarray(rel.confidence, dtype=np.float64)[filled], np.asarray(rel.accuracy, dtype=np.float64)[filled]
        )
        self.setTitle(f"Reliability · expected calibration error {rel.ece:.3f}")
