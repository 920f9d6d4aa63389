"""What the Search tab's plots share: a titled pyqtgraph plot with plain-number axes (no SI prefixes), and the
colours of a trial by how it ended."""

from __future__ import annotations

import math

import pyqtgraph as pg

BEST_COLOUR = (214, 39, 40)
COMPLETE_COLOUR = (31, 119, 180)
PRUNED_COLOUR = (150, 150, 150)
MIN_HEIGHT = 150  # the least a plot keeps; the splitter and scroll areas give room below it


class CountAxis(pg.AxisItem):
    """Trials and epochs are counted: ticks only at whole numbers (never "epoch 1.5")."""

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list:
        levels = [
            (spacing, [v for v in values if float(v).is_integer()])
            for spacing, values in super().tickValues(minVal, maxVal, size)
            if spacing >= 1
        ]
        if levels:
            return levels
        return [(1.0, [float(v) for v in range(math.ceil(minVal), math.floor(maxVal) + 1)])]


def make_plot(title: str, x_label: str, y_label: str, counted_x: bool = False) -> pg.PlotWidget:
    axes = {"bottom": CountAxis(orientation="bottom")} if counted_x else {}
    plot = pg.PlotWidget(title=title, axisItems=axes)
    plot.setLabel("bottom", x_label)
    plot.setLabel("left", y_label)
    for side in ("left", "bottom"):  # "0.9", never "900 (x0.001)"
        plot.getAxis(side).enableAutoSIPrefix(False)
    plot.getViewBox().setDefaultPadding(0.05)
    plot.setMinimumHeight(MIN_HEIGHT)
    plot.setMenuEnabled(True)
    return plot
