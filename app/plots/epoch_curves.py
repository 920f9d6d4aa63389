"""Per-epoch loss and accuracy of one or several stored trials, side by side: training dashed, validation solid,
one colour per trial, with a legend. Redrawn whole on each call (a few curves of a few hundred points)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QWidget

from app.plots.pens import line_pen

# Tableau's ten: told apart by most eyes, also when printed in grey.
PALETTE = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
)


def colour(i: int) -> tuple[int, int, int]:
    return PALETTE[i % len(PALETTE)]


@dataclass(frozen=True)
class CurveSet:
    """One trial's epochs (records with epoch, train_loss, val_loss, train_acc, val_acc) and how to draw them."""

    label: str  # legend prefix, e.g. "#12"; "" for a single trial
    colour: tuple[int, int, int]
    epochs: Sequence[Any]


class EpochCurves(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plots: dict[str, pg.PlotWidget] = {}
        # plot name -> (trial label, "train" or "val", curve) of what is drawn
        self.drawn: dict[str, list[tuple[str, str, pg.PlotDataItem]]] = {"loss": [], "accuracy": []}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        # Losses fall and accuracies rise, so their legends sit where the curves usually are not.
        for name, title, corner in (("loss", "Loss", (-10, 10)), ("accuracy", "Accuracy", (-10, -30))):
            plot = pg.PlotWidget(title=title)
            plot.setLabel("bottom", "epoch")
            plot.setLabel("left", name)
            plot.addLegend(offset=corner, brush=pg.mkBrush(0, 0, 0, 160), labelTextSize="8pt")
            self.plots[name] = plot
            layout.addWidget(plot)

    def show_sets(self, sets: Sequence[CurveSet]) -> None:
        """Draw each set; one trial's legend names its two curves, several trials' legends name the trials
        (one entry each: the style of a curve says training or validation)."""
        for plot in self.plots.values():
            plot.clear()  # also empties the legend
        self.drawn = {name: [] for name in self.plots}
        for s in sets:
            x = np.array([float(e.epoch) for e in s.epochs], dtype=np.float64)
            for metric, name in (("loss", "loss"), ("acc", "accuracy")):
                named = False
                for split, style in (("val", Qt.PenStyle.SolidLine), ("train", Qt.PenStyle.DashLine)):
                    y = np.array([_value(getattr(e, f"{split}_{metric}")) for e in s.epochs], dtype=np.float64)
                    keep = np.isfinite(y)
                    if not keep.any():
                        continue
                    if not s.label:
                        legend: str | None = "validation" if split == "val" else "train"
                    else:
                        legend, named = (None if named else s.label), True
                    pen = line_pen(s.colour, 2 if split == "val" else 1, style)
                    item = self.plots[name].plot(
                        x[keep],
                        y[keep],
                        pen=pen,
                        name=legend,
                        symbol="o",
                        symbolSize=4,
                        symbolPen=pen,
                        symbolBrush=pg.mkBrush(s.colour),
                    )
                    self.drawn[name].append((s.label, split, item))

    def curves(self, name: str) -> list[pg.PlotDataItem]:
        return [item for item in self.plots[name].getPlotItem().listDataItems()]

    def legend_labels(self, name: str) -> list[str]:
        legend = self.plots[name].getPlotItem().legend
        return [label.text for _sample, label in legend.items] if legend is not None else []


def _value(v: Any) -> float:
    return float("nan") if v is None else float(v)
