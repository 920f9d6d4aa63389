"""The range test's plot: loss against learning rate on a log axis, suggestion markers, the agreed band.

While a test runs, LrFinderStep events append to preallocated buffers and a 20 Hz timer paints. With
several repeats the earlier seeds' smoothed curves become a shaded band (their lowest to highest), and
the finished test shows the mean over seeds inside that band. The y axis is clipped to where the curve is
interesting: the blow-up at the end would otherwise flatten everything before it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.lr_finder.wording import format_lr, label
from app.plots.live_plot import LivePlot
from app.plots.pens import line_pen
from trainers.spec.events import LrFinderCurve, LrFinderResult, LrFinderStarted, LrFinderStep
from trainers.spec.lr_finder_settings import SUGGESTION_NAMES

REFRESH_MS = 50
Y_HEADROOM = 1.5  # the top of the y axis: this many times the first smoothed loss (or the curve's top)

_RAW = (170, 200, 225)
_SMOOTH = (31, 119, 180)
_VAL = (255, 127, 14)
_BAND_EDGE = (31, 119, 180, 90)
_BAND_FILL = (31, 119, 180, 50)
_AGREED_FILL = (255, 193, 7, 60)
_MARKER_COLORS = {"steepest": (214, 39, 40), "valley": (44, 160, 44), "min_div_10": (148, 103, 189)}
_OTHER_MARKER = (90, 90, 90)

RAW, SMOOTHED, VALIDATION = "loss", "smoothed", "validation loss"
BAND_LOW, BAND_HIGH = "smoothed, lowest seed", "smoothed, highest seed"


@dataclass
class _Sweep:
    """One repeat's points as they arrive."""

    lrs: list[float] = field(default_factory=list)
    smoothed: list[float] = field(default_factory=list)


class LrFinderPlot(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.live = LivePlot("LR finder: loss as the learning rate rises", "learning rate", "loss", self, log_x=True)
        self._raw = self.live.add_curve(RAW, _RAW)
        self._smooth = self.live.add_curve(SMOOTHED, _SMOOTH, width=2)
        self._val = self.live.add_curve(VALIDATION, _VAL, in_legend=False)  # listed once it has points
        self._val_listed = False
        self._band_low = self.live.add_curve(BAND_LOW, _BAND_EDGE, in_legend=False)
        self._band_high = self.live.add_curve(BAND_HIGH, _BAND_EDGE, in_legend=False)
        widget = self.live.plot_widget
        # Bottom left is where a range-test curve rarely goes (it starts high, dips, then blows up);
        # the top is left to the suggestion labels.
        widget.plotItem.legend.anchor(itemPos=(0, 1), parentPos=(0, 1), offset=(10, -10))
        widget.getAxis("bottom").enableAutoSIPrefix(False)  # "(x0.001)" beside log ticks reads as a wrong rate
        self._band = pg.FillBetweenItem(
            self.live.curve(BAND_LOW), self.live.curve(BAND_HIGH), brush=pg.mkBrush(_BAND_FILL)
        )
        self._band.setZValue(-10)  # behind the curves
        widget.addItem(self._band)
        self._agreed = pg.LinearRegionItem(
            orientation="vertical", movable=False, brush=pg.mkBrush(_AGREED_FILL), pen=pg.mkPen(None)
        )
        self._agreed.setZValue(-20)
        self._agreed.setVisible(False)
        widget.addItem(self._agreed, ignoreBounds=True)
        self._markers: dict[str, pg.InfiniteLine] = {}
        for i, name in enumerate(SUGGESTION_NAMES):
            color = _MARKER_COLORS.get(name, _OTHER_MARKER)
            line = pg.InfiniteLine(
                angle=90,
                movable=False,
                pen=line_pen(color, style=Qt.PenStyle.DashLine),
                label=label(name),
                labelOpts={"position": 0.95 - 0.09 * i, "color": color, "movable": False, "fill": (255, 255, 255, 200)},
            )
            line.setVisible(False)
            widget.addItem(line, ignoreBounds=True)
            self._markers[name] = line

        self._sweeps: list[_Sweep] = []
        self._auto_y = True  # until the user zooms or pans the y axis
        self._y_drawn: tuple[int, int, bool] | None = None  # data versions and log mode the y range was set for
        widget.getViewBox().sigRangeChangedManually.connect(self._on_manual_range)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.live)
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)

    # ---- access --------------------------------------------------------------------------
    def buffer(self, name: str):
        return self.live.buffer(name)

    def marker(self, name: str) -> pg.InfiniteLine:
        return self._markers[name]

    @property
    def agreed_region(self) -> pg.LinearRegionItem:
        return self._agreed

    # ---- live data -----------------------------------------------------------------------
    def handle_events(self, events: Iterable[object]) -> None:
        """Append a batch of range-test events in order; painting happens in refresh()."""
        for event in events:
            if isinstance(event, LrFinderStep):
                self._on_step(event)
            elif isinstance(event, LrFinderStarted):
                self._on_started(event)

    def _on_started(self, event: LrFinderStarted) -> None:
        if event.repeat <= 1:
            self.reset()
        elif self._sweeps:  # the finished seeds become the band; the new one draws on top
            self._set_band([np.asarray(s.lrs) for s in self._sweeps], [np.asarray(s.smoothed) for s in self._sweeps])
            for buffer in (self._raw, self._smooth, self._val):
                buffer.clear()
        self._sweeps.append(_Sweep())

    def _on_step(self, event: LrFinderStep) -> None:
        if not self._sweeps:
            self._sweeps.append(_Sweep())
        sweep = self._sweeps[-1]
        sweep.lrs.append(event.lr)
        sweep.smoothed.append(event.smoothed)
        self._raw.append(event.lr, event.loss)
        self._smooth.append(event.lr, event.smoothed)
        if event.val_loss is not None:
            self._val.append(event.lr, event.val_loss)

    def reset(self) -> None:
        """Empty the plot: no curves, markers or band (a new test starts from nothing)."""
        self._sweeps = []
        self._auto_y = True
        self._y_drawn = None
        self.live.clear()
        self._show_markers({}, None)

    # ---- a finished (or stored) test -----------------------------------------------------
    def show_result(self, result: LrFinderResult) -> None:
        """Draw a whole test: one seed as it ran, several as their mean inside the band; then the markers."""
        self._sweeps = []
        self._y_drawn = None
        for buffer in (self._raw, self._smooth, self._val, self._band_low, self._band_high):
            buffer.clear()
        curves = result.curves
        if len(curves) == 1:
            c = curves[0]
            self._raw.extend(_array(c.lrs), _array(c.losses))
            self._smooth.extend(_array(c.lrs), _array(c.smoothed))
            if c.val_losses is not None:
                self._val.extend(_array(c.lrs), _array(c.val_losses))
        elif curves:
            lrs = _array(max(curves, key=lambda c: len(c.lrs)).lrs)
            self._raw.extend(lrs, _mean(_stack(curves, "losses", len(lrs))))
            smoothed = [_array(c.smoothed) for c in curves]
            self._smooth.extend(lrs, _mean(_stack(curves, "smoothed", len(lrs))))
            if any(c.val_losses is not None for c in curves):
                self._val.extend(lrs, _mean(_stack(curves, "val_losses", len(lrs))))
            self._set_band([_array(c.lrs) for c in curves], smoothed)
        self._show_markers(result.suggestions, result.agreed)
        self.refresh()

    def _set_band(self, lrs: Sequence[np.ndarray], smoothed: Sequence[np.ndarray]) -> None:
        longest = max(range(len(lrs)), key=lambda i: len(lrs[i]))
        stack = _pad(smoothed, len(lrs[longest]))
        with warnings.catch_warnings():  # a column where every seed had diverged is NaN, as it should be
            warnings.simplefilter("ignore", RuntimeWarning)
            low, high = np.nanmin(stack, axis=0), np.nanmax(stack, axis=0)
        self._band_low.clear()
        self._band_high.clear()
        self._band_low.extend(lrs[longest], low)
        self._band_high.extend(lrs[longest], high)

    def _show_markers(self, suggestions: dict[str, float | None], agreed: tuple[float, float] | None) -> None:
        for name, line in self._markers.items():
            value = suggestions.get(name)
            line.setVisible(value is not None and value > 0)
            if value is not None and value > 0:  # after setVisible: a hidden label ignores a new text
                line.setPos(self.live.to_view_x(value))  # a log axis places lines in log10 units
                line.label.setFormat(f"{label(name)} {format_lr(value)}")
        if agreed is not None and agreed[0] > 0:
            self._agreed.setRegion((self.live.to_view_x(agreed[0]), self.live.to_view_x(agreed[1])))
        self._agreed.setVisible(agreed is not None and agreed[0] > 0)

    # ---- painting ------------------------------------------------------------------------
    def refresh(self) -> None:
        self.live.refresh()
        legend = self.live.plot_widget.plotItem.legend
        if legend is not None and self._val_listed != bool(len(self._val)):
            self._val_listed = not self._val_listed
            curve = self.live.curve(VALIDATION)
            if self._val_listed:
                legend.addItem(curve, VALIDATION)
            else:
                legend.removeItem(curve)
        state = (self._smooth.version, self._band_high.version, self.live.log_y)
        if self._auto_y and state != self._y_drawn:
            self._y_drawn = state
            self._clip_y()

    def _clip_y(self) -> None:
        """From a little under the lowest smoothed loss to Y_HEADROOM times the first one."""
        series = [b.y for b in (self._smooth, self._band_low, self._band_high, self._val) if len(b)]
        span = loss_span(series, self._first_loss(), low_only=[self._raw.y])
        widget = self.live.plot_widget
        if span is None or (self.live.log_y and span[0] <= 0):
            widget.enableAutoRange(y=True)
            return
        lo, hi = np.log10(span) if self.live.log_y else span
        widget.setYRange(float(lo), float(hi), padding=0.05)

    def _first_loss(self) -> float | None:
        for buffer in (self._band_high, self._smooth):
            finite = buffer.y[np.isfinite(buffer.y)]
            if finite.size:
                return float(finite[0])
        return None

    def _on_manual_range(self, *_args: object) -> None:
        self._auto_y = False

    def start_live(self) -> None:
        self._timer.start()

    def stop_live(self) -> None:
        self._timer.stop()
        self.refresh()

    @property
    def is_live(self) -> bool:
        return self._timer.isActive()


def loss_span(
    series: Sequence[np.ndarray], first: float | None, low_only: Sequence[np.ndarray] = ()
) -> tuple[float, float] | None:
    """The y range worth showing: the lowest finite loss up to Y_HEADROOM × the first (or the top, if lower).

    `low_only` (the noisy raw loss) may lower the bottom but never raises the top: its spikes are clipped."""
    finite = [s[np.isfinite(s)] for s in series]
    finite = [s for s in finite if s.size]
    if not finite:
        return None
    low = [s[np.isfinite(s)] for s in low_only]
    lo = min(float(s.min()) for s in finite + [s for s in low if s.size])
    hi = max(float(s.max()) for s in finite)
    if first is not None and first > 0:
        hi = min(hi, first * Y_HEADROOM)
    if hi <= lo:
        hi = lo + max(abs(lo) * 0.1, 1e-6)
    return lo, hi


def _array(values: Sequence[float | None]) -> np.ndarray:
    return np.array(values, dtype=np.float64)  # None (no value) becomes NaN


def _pad(rows: Sequence[np.ndarray], n: int) -> np.ndarray:
    """Seeds that diverged early are shorter: pad with NaN, and hide inf so a band edge stays finite."""
    out = np.full((len(rows), n), np.nan)
    for i, row in enumerate(rows):
        row = row[:n]
        out[i, : row.size] = np.where(np.isfinite(row), row, np.nan)
    return out


def _stack(curves: Sequence[LrFinderCurve], attr: str, n: int) -> np.ndarray:
    return _pad([_array(getattr(c, attr) or ()) for c in curves], n)


def _mean(stack: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(stack, axis=0)
