"""One live pyqtgraph plot: curves fed from GrowingBuffers, redrawn only when their data changed."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.plots.buffers import GrowingBuffer
from app.plots.pens import line_pen
from app.plots.rate_axis import RateAxis

_SYMBOL_SIZE = 6
# The least height a plot keeps (its curves, title, axes and tool row stay readable); below it the plots scroll.
MIN_PLOT_HEIGHT = 220
# legend corner -> (the legend's and the view's anchor point, offset from it in pixels)
_LEGEND_CORNERS = {
    "top right": ((1, 0), (-10, 10)),
    "bottom right": ((1, 1), (-10, -10)),
    "top left": ((0, 0), (10, 10)),
    "bottom left": ((0, 1), (10, -10)),
}


class LivePlot(QWidget):
    """A titled plot with a legend, a crosshair readout and a Log / PNG… / CSV… tool row."""

    def __init__(
        self,
        title: str = "",
        x_label: str = "",
        y_label: str = "",
        parent: QWidget | None = None,
        log_x: bool = False,
        log_y: bool = False,
        legend: str | None = "top right",
    ) -> None:
        super().__init__(parent)
        self._title = title
        # A log x axis (e.g. learning rate): curves keep their data x, but anything placed by position
        # (the crosshair, markers, regions) is in view units, i.e. log10(x).
        self._log_x = bool(log_x)
        self._buffers: dict[str, GrowingBuffer] = {}
        self._curves: dict[str, pg.PlotDataItem] = {}
        self._drawn: dict[str, int] = {}  # buffer version each curve last showed; -1 forces a redraw
        self._log_y = False
        self._flat_y = False  # the y range was set around a constant series (not pyqtgraph's ±0.5)

        self._plot = self._make_plot(title, x_label, y_label, (log_x, log_y), legend)
        self.setMinimumHeight(MIN_PLOT_HEIGHT)

        # Crosshair: a vertical line and a text readout; ignoreBounds keeps it out of the autorange.
        self._vline = pg.InfiniteLine(angle=90, movable=False, pen=line_pen((150, 150, 150)))
        self._vline.setVisible(False)
        self._plot.addItem(self._vline, ignoreBounds=True)
        # Rate-limited so a fast mouse does not trigger a readout per pixel.
        self._mouse_proxy = pg.SignalProxy(self._plot.scene().sigMouseMoved, rateLimit=30, slot=self._on_mouse_moved)

        self._readout = QLabel("")
        self._readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # A long readout wraps within the plot's width instead of widening the window (or being cut off).
        self._readout.setWordWrap(True)
        self._readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._log_button = self._tool_button("Log", "Logarithmic y axis")
        self._log_button.setCheckable(True)
        self._log_button.toggled.connect(self.set_log_y)
        self._png_button = self._tool_button("PNG…", "Save this plot as a PNG image")
        self._png_button.clicked.connect(self._ask_png)
        self._csv_button = self._tool_button("CSV…", "Save this plot's points as CSV")
        self._csv_button.clicked.connect(self._ask_csv)

        tools = QHBoxLayout()
        tools.setContentsMargins(0, 0, 0, 0)
        tools.addWidget(self._readout, 1)
        for button in (self._log_button, self._png_button, self._csv_button):
            tools.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self._plot, 1)
        layout.addLayout(tools)
        if log_y:
            self.set_log_y(True)

    @staticmethod
    def _make_plot(title: str, x_label: str, y_label: str, log: tuple[bool, bool], legend: str | None) -> pg.PlotWidget:
        log_x, log_y = log
        # Log axes label only 1, 2 and 5 × 10^k: pyqtgraph's 2…9 × 10^k labels run into each other.
        axes = {side: RateAxis(orientation=side) for side, on in (("bottom", log_x), ("left", log_y)) if on}
        plot = pg.PlotWidget(title=title, axisItems=axes)
        plot.setLabel("bottom", x_label)
        plot.setLabel("left", y_label)
        for side in ("left", "bottom"):  # "0.9", never "900 (x0.001)"
            plot.getAxis(side).enableAutoSIPrefix(False)
        # No grid: pyqtgraph draws grid lines through each axis picture, and on a software raster that made
        # every repaint ~6x slower (59 ms vs 10 ms for the five plots), which starved the training thread.
        # The crosshair readout gives exact values instead.
        if legend is not None:  # a corner the plot's curves rarely reach; a see-through box where they do
            item_pos, offset = _LEGEND_CORNERS[legend]
            plot.addLegend(
                offset=offset, brush=pg.mkBrush(0, 0, 0, 150), colCount=2, labelTextSize="8pt", verSpacing=-6
            )
            plot.plotItem.legend.anchor(itemPos=item_pos, parentPos=item_pos, offset=offset)
        plot.setDownsampling(auto=True, mode="peak")  # also the default for any item added later
        plot.setClipToView(True)
        if log_x:
            plot.setLogMode(x=True, y=False)
        return plot

    def _tool_button(self, text: str, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        button.setAccessibleName(f"{tip} ({self._title})" if self._title else tip)
        button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # reachable by Tab on every platform style
        button.setAutoDefault(False)
        return button

    # -- curves ---------------------------------------------------------------------------
    def add_curve(
        self,
        name: str,
        color,
        width: int = 1,
        style: Qt.PenStyle = Qt.PenStyle.SolidLine,
        symbol: str | None = None,
        in_legend: bool = True,
    ) -> GrowingBuffer:
        """Create a curve once (pyqtgraph pattern: later only setData) and return its buffer.

        in_legend=False keeps a helper curve (e.g. the edge of a shaded band) out of the legend; its points
        are still exported."""
        if name in self._curves:
            raise ValueError(f"curve {name!r} already exists in plot {self._title!r}")
        pen = line_pen(color, width, style)
        extra = {}
        if symbol is not None:  # per-epoch curves: symbols make a 1-point curve visible
            extra = dict(symbol=symbol, symbolSize=_SYMBOL_SIZE, symbolPen=pen, symbolBrush=pg.mkBrush(color))
        curve = pg.PlotDataItem(name=name if in_legend else None, pen=pen, antialias=False, **extra)
        self._plot.addItem(curve)
        # After addItem: PlotItem.addItem overwrites an item's downsampling with the plot's own mode.
        curve.setDownsampling(auto=True, method="peak")
        curve.setClipToView(True)
        buffer = GrowingBuffer()
        self._curves[name], self._buffers[name], self._drawn[name] = curve, buffer, -1
        return buffer

    def buffer(self, name: str) -> GrowingBuffer:
        return self._buffers[name]

    def curve(self, name: str) -> pg.PlotDataItem:
        return self._curves[name]

    @property
    def plot_widget(self) -> pg.PlotWidget:
        return self._plot

    @property
    def readout_label(self) -> QLabel:
        return self._readout

    @property
    def crosshair(self) -> pg.InfiniteLine:
        return self._vline

    def set_x_span(self, lo: float, hi: float) -> None:
        """Fix the x axis to [lo, hi] (a run's planned epochs): a growing curve then does not re-lay the
        axis out on every repaint, which is most of the cost of painting a live plot."""
        self._plot.enableAutoRange(x=False)
        self._plot.setXRange(lo, hi, padding=0.02)

    def release_x_span(self) -> None:
        self._plot.enableAutoRange(x=True)

    # -- drawing --------------------------------------------------------------------------
    def refresh(self) -> int:
        """Push changed buffers to their curves; returns how many curves were re-set."""
        updated = 0
        for name, buffer in self._buffers.items():
            if self._drawn[name] == buffer.version:
                continue
            x, y = self._display_data(buffer)
            self._curves[name].setData(x, y)
            self._drawn[name] = buffer.version
            updated += 1
        if updated:
            self._range_flat_y()
        return updated

    def _range_flat_y(self) -> None:
        """A constant series (a fixed learning rate) gets a range around its value: pyqtgraph's own is ±0.5,
        which puts 0.001 on the zero line of a −0.5…0.5 axis. Curves that vary give the axis back."""
        view = self._plot.plotItem.vb
        if not (self._flat_y or view.autoRangeEnabled()[1]):
            return  # the user (or the owner of the plot) has set the y range
        flat = _flat_value([self._display_data(b)[1] for b in self._buffers.values()])
        if flat is None:
            if self._flat_y:
                self._flat_y = False
                view.enableAutoRange(y=True)
            return
        if self._log_y:
            lo, hi = np.log10(flat) - 0.5, np.log10(flat) + 0.5  # a decade around it
        else:
            pad = abs(flat) * 0.1 or 1.0
            lo, hi = flat - pad, flat + pad
        self._flat_y = True
        view.setYRange(lo, hi, padding=0)

    def _display_data(self, buffer: GrowingBuffer) -> tuple[np.ndarray, np.ndarray]:
        """The buffer's points, minus those the current axis cannot show (NaN/inf, and <= 0 on log-y).

        Copies only when something must be dropped; the usual case hands pyqtgraph the views."""
        x, y = buffer.x, buffer.y
        with np.errstate(invalid="ignore"):
            keep = np.isfinite(x) & np.isfinite(y)
            if self._log_y:
                keep &= y > 0
            if self._log_x:
                keep &= x > 0
        if keep.all():
            return x, y
        return x[keep], y[keep]

    def clear(self) -> None:
        for buffer in self._buffers.values():
            buffer.clear()
        self._readout.setText("")
        self._vline.setVisible(False)
        self.refresh()

    # -- log-y ----------------------------------------------------------------------------
    @property
    def log_y(self) -> bool:
        return self._log_y

    @property
    def log_x(self) -> bool:
        return self._log_x

    def to_view_x(self, x: float) -> float:
        """Where data x lies on the view's x axis (log10(x) on a log axis), for lines and regions."""
        return float(np.log10(x)) if self._log_x else float(x)

    def set_log_y(self, on: bool) -> None:
        on = bool(on)
        if self._log_button.isChecked() != on:
            self._log_button.setChecked(on)  # re-enters through toggled; the guard below stops the loop
            return
        if on == self._log_y:
            return
        self._log_y = on
        self._plot.setLogMode(x=self._log_x, y=on)
        # The filter for non-positive values depends on the mode, so every curve must be re-set.
        for name in self._drawn:
            self._drawn[name] = -1
        self.refresh()

    # -- crosshair ------------------------------------------------------------------------
    def readout_at(self, x: float) -> str:
        """What the crosshair label shows at data x: each curve's point nearest to x."""
        parts = [f"x={x:.4g}"]
        for name, buffer in self._buffers.items():
            i = _nearest_index(buffer, x)
            if i is not None:
                parts.append(f"{name}={float(buffer.y[i]):.4g}")
        return "   ".join(parts) if len(parts) > 1 else ""

    def _on_mouse_moved(self, args: tuple) -> None:
        pos: QPointF = args[0]
        if not self._plot.plotItem.sceneBoundingRect().contains(pos):
            return
        x = self._plot.plotItem.vb.mapSceneToView(pos).x()
        self._vline.setPos(x)
        self._vline.setVisible(True)
        self._readout.setText(self.readout_at(10.0**x if self._log_x else x))

    # -- export ---------------------------------------------------------------------------
    def export_png(self, path: str | Path) -> None:
        exporter = pg.exporters.ImageExporter(self._plot.plotItem)
        width = int(exporter.parameters()["width"])
        if width < 2:  # a never-shown widget has no size yet; give the image a sensible one
            exporter.parameters()["width"] = 800
        exporter.export(str(path))

    def export_csv(self, path: str | Path) -> None:
        """Every stored point of every curve (not the downsampled or filtered display)."""
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["curve", "x", "y"])
            for name, buffer in self._buffers.items():
                # repr of a Python float round-trips exactly; numpy scalars would print as np.float64(...)
                writer.writerows(
                    (name, repr(float(a)), repr(float(b))) for a, b in zip(buffer.x.tolist(), buffer.y.tolist())
                )

    def _ask_png(self) -> None:
        self._ask_and_export("PNG image (*.png)", ".png", self.export_png)

    def _ask_csv(self) -> None:
        self._ask_and_export("CSV file (*.csv)", ".csv", self.export_csv)

    def _ask_and_export(self, file_filter: str, suffix: str, export) -> None:
        default = (self._title or "plot").lower().replace(" ", "_") + suffix
        path, _ = QFileDialog.getSaveFileName(self, f"Save {self._title or 'plot'}", default, file_filter)
        if not path:
            return
        if not path.lower().endswith(suffix):
            path += suffix
        try:
            export(path)
        except OSError as exc:
            QMessageBox.warning(self, "Could not save", f"Could not write {path}:\n{exc}")


def _flat_value(series: list[np.ndarray]) -> float | None:
    """The one value every shown point has, or None when they differ (or there are none)."""
    shown = [y for y in series if len(y)]
    if not shown:
        return None
    lo = min(float(y.min()) for y in shown)
    hi = max(float(y.max()) for y in shown)
    return lo if hi - lo <= 1e-9 * max(abs(lo), abs(hi), 1e-300) else None


def _nearest_index(buffer: GrowingBuffer, x: float) -> int | None:
    """Index of the point whose x is nearest to `x` (binary search when the buffer is sorted)."""
    n = len(buffer)
    if n == 0:
        return None
    xs = buffer.x
    if not buffer.x_sorted:
        with np.errstate(invalid="ignore"):
            distance = np.abs(xs - x)
        if np.isnan(distance).all():
            return None
        return int(np.nanargmin(distance))
    i = int(np.searchsorted(xs, x))
    if i <= 0:
        return 0
    if i >= n:
        return n - 1
    return i - 1 if x - xs[i - 1] <= xs[i] - x else i
