"""The five live training plots (loss, accuracy, learning rate, generalisation gap, gradient norm).

Events only append to buffers; a timer paints (20 Hz, slower when a repaint is expensive). Data
arrival (the worker's coalesced signal) and painting thus run at independent rates, and a burst of
events costs one repaint, not one each.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QGridLayout, QWidget

from app.plots.live_plot import LivePlot
from trainers.spec.events import BatchEnded, EpochEnded, FitStarted
from trainers.spec.smoothing import Ema

REFRESH_MS = 50  # 20 Hz when painting is cheap: smooth to the eye
MAX_REFRESH_MS = 500
# Painting shares the GIL and the cores with the training thread, so the timer slows down when a repaint
# gets expensive (big window, software raster): at most this fraction of the GUI thread's time is spent
# painting plots.
PAINT_BUDGET = 0.025
_COLUMNS = 2
MIN_SMOOTHING_SPAN, MAX_SMOOTHING_SPAN = 5.0, 100.0  # batches
FIRST_EPOCHS_SHOWN = 10.0  # the epoch axis starts this long (or the run's length, if shorter) …
GROW_AT = 0.85  # … and doubles once the run passes this fraction of it

_TRAIN = (31, 119, 180)
_VAL = (255, 127, 14)
_TRAIN_LIGHT = (
    150,
    190,
    220,
)  # raw batch losses: light, the smoothed curve carries the eye (opaque: blending costs paint time)
_OTHER = (44, 160, 44)
_EPOCH_SYMBOL = "o"

# name -> (title, y label)
_PLOTS: dict[str, tuple[str, str]] = {
    "loss": ("Loss", "loss"),
    "accuracy": ("Accuracy", "accuracy"),
    "lr": ("Learning rate", "learning rate"),
    "gap": ("Generalisation gap", "val − train loss"),
    "grad_norm": ("Gradient norm", "gradient norm"),
}

# Legends only where curves must be told apart, in the corner each plot's curves leave empty: a loss falls
# away from the top right, an accuracy rises away from the bottom right. One curve needs none: the title says.
_LEGENDS = {"loss": "top right", "accuracy": "bottom right"}
_LOG_Y = {"lr"}  # rates span decades (warm-up, decay): a log axis shows each step of a schedule


def smoothing_beta(steps_per_epoch: int) -> float:
    """The smoothed training loss averages over about half an epoch (5…100 batches): it stays close to the
    falling batch losses instead of trailing them by epochs (a fixed 0.98 read 0.2 where the batches were 0.01
    at the end of a 20-batch-an-epoch run)."""
    span = min(MAX_SMOOTHING_SPAN, max(MIN_SMOOTHING_SPAN, steps_per_epoch / 2)) if steps_per_epoch > 0 else 10.0
    return 1.0 - 1.0 / span


class TrainingPlots(QWidget):
    """Live plots of one run, fed by `handle_events` and painted by `refresh` (or the live timer)."""

    visibility_changed = Signal(str, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._plots: dict[str, LivePlot] = {
            name: LivePlot(title, "epoch", y_label, self, log_y=name in _LOG_Y, legend=_LEGENDS.get(name))
            for name, (title, y_label) in _PLOTS.items()
        }
        loss = self._plots["loss"]
        self._loss_batch = loss.add_curve("train (batch)", _TRAIN_LIGHT)
        self._loss_smooth = loss.add_curve("train (smoothed)", _TRAIN)
        self._loss_epoch = loss.add_curve("train (epoch)", _TRAIN, symbol=_EPOCH_SYMBOL)
        self._loss_val = loss.add_curve("validation (epoch)", _VAL, symbol=_EPOCH_SYMBOL)
        acc = self._plots["accuracy"]
        self._acc_train = acc.add_curve("train", _TRAIN, symbol=_EPOCH_SYMBOL)
        self._acc_val = acc.add_curve("validation", _VAL, symbol=_EPOCH_SYMBOL)
        self._lr = self._plots["lr"].add_curve("learning rate", _OTHER)
        self._gap = self._plots["gap"].add_curve("validation − training loss", _VAL, symbol=_EPOCH_SYMBOL)
        self._grad = self._plots["grad_norm"].add_curve("gradient norm", _OTHER)

        self._ema = Ema(smoothing_beta(0))
        self._steps_per_epoch = 0  # unknown until a FitStarted arrives; batch x then falls back to the step
        self._planned_epochs = 0.0
        self._x_end = 0.0  # the epoch axis shows 0…_x_end (fixed: see LivePlot.set_x_span); 0 while unset

        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._retile()

        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)

    # -- access ---------------------------------------------------------------------------
    def names(self) -> tuple[str, ...]:
        return tuple(self._plots)

    def plot(self, name: str) -> LivePlot:
        try:
            return self._plots[name]
        except KeyError:
            raise KeyError(f"no plot {name!r}; plots are {', '.join(self._plots)}") from None

    # -- data -----------------------------------------------------------------------------
    def handle_events(self, events: Iterable[object]) -> None:
        """Append a batch of run events (in order) to the buffers; painting happens in refresh()."""
        for event in events:
            if isinstance(event, BatchEnded):
                self._on_batch(event)
            elif isinstance(event, EpochEnded):
                self._on_epoch(event)
            elif isinstance(event, FitStarted):
                self.reset()
                self._steps_per_epoch = event.steps_per_epoch
                self._ema = Ema(smoothing_beta(event.steps_per_epoch))
                if event.steps_per_epoch > 0:
                    self._planned_epochs = float(event.epochs)
                    self._set_x_end(min(self._planned_epochs, FIRST_EPOCHS_SHOWN))
            # FitEnded and anything else carry nothing to draw.
        self._follow_x()

    def _follow_x(self) -> None:
        """Double the epoch axis when the run nears its end, up to the planned epochs: the first epochs of a
        200-epoch run are not a sliver, and the axis is re-laid out only a handful of times a run."""
        if not self._x_end:
            return
        latest = max((len(b) and float(b.x[-1])) for b in (self._loss_batch, self._loss_epoch))
        end = self._x_end
        while latest > GROW_AT * end and end < self._planned_epochs:
            end = min(self._planned_epochs, end * 2)
        if end != self._x_end:
            self._set_x_end(end)

    def _set_x_end(self, end: float) -> None:
        self._x_end = end
        for plot in self._plots.values():
            plot.set_x_span(0.0, end)

    @property
    def x_end(self) -> float:
        """The last epoch the axes show now (0 when they follow the data)."""
        return self._x_end

    def _batch_x(self, event: BatchEnded) -> float:
        if self._steps_per_epoch > 0:
            return event.epoch - 1 + event.batch / self._steps_per_epoch
        return float(event.step)

    def _on_batch(self, event: BatchEnded) -> None:
        x = self._batch_x(event)
        self._loss_batch.append(x, event.loss)
        self._loss_smooth.append(x, self._ema.update(event.loss))
        self._lr.append(x, event.lr)
        self._grad.append(x, event.grad_norm)

    def _on_epoch(self, event: EpochEnded) -> None:
        x = float(event.epoch)
        self._loss_epoch.append(x, event.train_loss)
        self._acc_train.append(x, event.train_acc)
        if event.val_loss is not None:
            self._loss_val.append(x, event.val_loss)
            self._gap.append(x, event.val_loss - event.train_loss)
        if event.val_acc is not None:
            self._acc_val.append(x, event.val_acc)

    def reset(self) -> None:
        """Empty every plot and restart the smoother (a new run starts from nothing)."""
        self._ema.reset()
        self._steps_per_epoch = 0
        self._planned_epochs = self._x_end = 0.0
        for plot in self._plots.values():
            plot.release_x_span()
            plot.clear()

    # -- painting -------------------------------------------------------------------------
    def refresh(self) -> None:
        """Push new data to the visible plots and paint them now; the live timer's next interval follows
        what that cost, so painting stays within PAINT_BUDGET of the GUI thread."""
        started = time.perf_counter()
        for plot in self._plots.values():
            if not plot.isHidden() and plot.refresh():  # a hidden plot is brought up to date when shown again
                plot.plot_widget.viewport().repaint()
        cost_ms = (time.perf_counter() - started) * 1000
        self._timer.setInterval(int(min(MAX_REFRESH_MS, max(REFRESH_MS, cost_ms / PAINT_BUDGET))))

    def start_live(self) -> None:
        self._timer.start()

    def stop_live(self) -> None:
        self._timer.stop()
        self.refresh()  # the events that arrived after the last tick

    @property
    def is_live(self) -> bool:
        return self._timer.isActive()

    # -- visibility -----------------------------------------------------------------------
    def is_plot_visible(self, name: str) -> bool:
        return not self.plot(name).isHidden()

    def set_plot_visible(self, name: str, visible: bool) -> None:
        plot = self.plot(name)
        visible = bool(visible)
        if visible == (not plot.isHidden()):
            return
        plot.setVisible(visible)
        if visible:
            plot.refresh()
        self._retile()
        self.visibility_changed.emit(name, visible)

    def _retile(self) -> None:
        """Lay the visible plots out row by row; an odd last one spans the full width."""
        for plot in self._plots.values():
            self._grid.removeWidget(plot)
        shown = [p for p in self._plots.values() if not p.isHidden()]
        for i, plot in enumerate(shown):
            row, col = divmod(i, _COLUMNS)
            last_alone = i == len(shown) - 1 and col == 0
            self._grid.addWidget(plot, row, col, 1, _COLUMNS if last_alone else 1)
        rows = (len(shown) + _COLUMNS - 1) // _COLUMNS
        for r in range(self._grid.rowCount()):
            self._grid.setRowStretch(r, 1 if r < rows else 0)
