"""Axes a person can read: no unit-prefix scaling, the learning rate on a log axis, constant series drawn
around their value, and labels that fit their plots."""

from __future__ import annotations

import pyqtgraph as pg
import pytest
from PySide6.QtGui import QFontMetrics

from app.forms.schedule_plot import SchedulePlot
from app.lr_finder.curve_plot import LrFinderPlot
from app.plots import LivePlot, TrainingPlots
from app.plots.live_plot import MIN_PLOT_HEIGHT
from trainers.spec.config import RunConfig
from trainers.spec.events import BatchEnded, EpochEnded, FitStarted


def y_range(plot: LivePlot) -> tuple[float, float]:
    """The y range on show, in data units (undoing the log axis)."""
    lo, hi = plot.plot_widget.plotItem.vb.viewRange()[1]
    return (10.0**lo, 10.0**hi) if plot.log_y else (lo, hi)


@pytest.fixture
def plots(qtbot) -> TrainingPlots:
    widget = TrainingPlots()
    qtbot.addWidget(widget)
    widget.resize(900, 700)
    widget.show()
    return widget


def feed(plots: TrainingPlots, lr: float = 0.001, acc: tuple[float, ...] = (0.6, 0.75, 0.9)) -> None:
    events: list = [FitStarted(1, len(acc), 4, 100, 20, 0, 1, "cpu")]
    for e, a in enumerate(acc, start=1):
        for b in range(1, 5):
            events.append(BatchEnded(e, b, (e - 1) * 4 + b, 1.0 / (e + b), lr, 1.0, 25))
        events.append(EpochEnded(e, 1.0 / e, a - 0.05, 1.2 / e, a, lr, 1.0, 10.0, False))
    plots.handle_events(events)
    plots.refresh()


def test_no_axis_scales_its_numbers_by_a_unit_prefix(plots: TrainingPlots, qtbot) -> None:
    feed(plots)
    range_test = LrFinderPlot()
    preview = SchedulePlot()
    qtbot.addWidget(range_test)
    qtbot.addWidget(preview)
    widgets = [plots.plot(n).plot_widget for n in plots.names()] + [range_test.live.plot_widget, preview.plot]
    for widget in widgets:
        for side in ("left", "bottom"):
            axis = widget.getAxis(side)
            assert not axis.autoSIPrefix, (widget, side)
            assert "(x" not in axis.labelString()
    acc = plots.plot("accuracy")
    acc.plot_widget.plotItem.vb.autoRange()
    lo, hi = y_range(acc)
    assert 0.4 < lo < 0.6 and 0.9 < hi < 1.1  # ticks read 0.6…0.9, not 600…900


def test_learning_rate_is_on_a_log_axis_and_a_constant_one_is_drawn_at_its_value(plots: TrainingPlots) -> None:
    feed(plots, lr=0.001)
    lr = plots.plot("lr")
    assert lr.log_y
    lo, hi = y_range(lr)
    assert 0.0001 <= lo < 0.001 < hi <= 0.01  # around 0.001, not −400…400 (x0.001) with the line at 0


def test_a_constant_series_on_a_linear_axis_gets_a_range_around_its_value(qtbot) -> None:
    live = LivePlot("Gradient norm", "epoch", "gradient norm")
    qtbot.addWidget(live)
    live.add_curve("g", (0, 0, 0)).extend([0.0, 1.0, 2.0], [5.0, 5.0, 5.0])
    live.refresh()
    lo, hi = y_range(live)
    assert 4.0 <= lo < 5.0 < hi <= 6.0
    live.buffer("g").extend([3.0], [50.0])  # no longer constant: the axis follows the data again
    live.refresh()
    live.plot_widget.plotItem.vb.updateAutoRange()
    lo, hi = y_range(live)
    assert lo <= 5.0 and hi >= 50.0


def test_schedule_preview_of_a_constant_rate_is_drawn_at_its_value(qtbot) -> None:
    preview = SchedulePlot()
    qtbot.addWidget(preview)
    preview.show_config(RunConfig().replace(**{"optim.lr": 0.001, "schedule.name": "constant"}))
    lo, hi = preview.plot.getPlotItem().vb.viewRange()[1]
    assert 0.0 <= lo + 1e-12 and 0.001 < hi < 0.002  # not ±0.4 with the line at 0


def test_every_y_label_fits_the_smallest_plot(plots: TrainingPlots) -> None:
    for name in plots.names():
        axis = plots.plot(name).plot_widget.getAxis("left")
        text = axis.labelText
        width = QFontMetrics(axis.label.font()).horizontalAdvance(text)
        assert width < MIN_PLOT_HEIGHT - 60, (name, text)  # the title and the bottom axis take the rest


def test_the_wheel_over_the_schedule_preview_scrolls_the_form_not_the_plot(qtbot) -> None:
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication, QScrollArea, QVBoxLayout, QWidget

    preview = SchedulePlot()
    preview.show_config(RunConfig())
    inner = QWidget()
    column = QVBoxLayout(inner)
    column.addWidget(preview)
    column.addSpacing(2000)
    scroll = QScrollArea()
    scroll.setWidget(inner)
    scroll.setWidgetResizable(True)
    scroll.resize(400, 300)
    qtbot.addWidget(scroll)
    scroll.show()
    qtbot.waitExposed(scroll)
    qtbot.wait(50)  # pyqtgraph lays its axes out on the first paint
    viewport = preview.plot.viewport()
    before = preview.plot.getPlotItem().vb.viewRange()
    axis = preview.plot.getPlotItem().getAxis("left")  # pyqtgraph's axes take the wheel even when zoom is off
    pos = QPointF(preview.plot.mapFromScene(axis.mapToScene(axis.rect().center())))
    wheel = QWheelEvent(
        pos,
        viewport.mapToGlobal(pos),
        QPoint(0, 0),
        QPoint(0, -120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    assert axis in preview.plot.items(pos.toPoint())
    QApplication.sendEvent(viewport, wheel)
    assert not wheel.isAccepted()  # so Qt passes it on to the form's scroll area
    assert preview.plot.getPlotItem().vb.viewRange() == before


def test_legends_leave_the_curves_visible(plots: TrainingPlots, qtbot) -> None:
    feed(plots, acc=(0.6, 0.7, 0.8, 0.85, 0.9, 0.92, 0.93, 0.94))
    qtbot.wait(50)
    for name in ("lr", "gap", "grad_norm"):  # one curve: the title and the axis say what it is
        assert plots.plot(name).plot_widget.plotItem.legend is None, name
    for name in ("loss", "accuracy"):
        item = plots.plot(name).plot_widget.plotItem
        item.vb.autoRange()
        qtbot.wait(20)
        box = item.legend.sceneBoundingRect()
        for curve in item.listDataItems():
            x, y = curve.getOriginalDataset()
            for px, py in zip(x, y):
                assert not box.contains(item.vb.mapViewToScene(pg.Point(px, py))), (name, curve.name(), px, py)


def _epochs(first: int, last: int, steps: int = 2) -> list:
    events: list = []
    for e in range(first, last + 1):
        for b in range(1, steps + 1):
            events.append(BatchEnded(e, b, (e - 1) * steps + b, 1.0, 0.001, 1.0, 25))
        events.append(EpochEnded(e, 1.0, 0.5, 1.0, 0.5, 0.001, 1.0, 10.0, False))
    return events


def test_a_long_run_shows_its_first_epochs_wide_and_the_axis_grows_with_it(plots: TrainingPlots) -> None:
    plots.handle_events([FitStarted(1, 200, 2, 100, 20, 0, 1, "cpu"), *_epochs(1, 3)])
    lo, hi = plots.plot("loss").plot_widget.plotItem.vb.viewRange()[0]
    assert hi <= 10.5  # not 0…200 with three epochs in the first 1.5 %
    plots.handle_events(_epochs(4, 12))
    lo, hi = plots.plot("loss").plot_widget.plotItem.vb.viewRange()[0]
    assert 12 < hi <= 41
    plots.handle_events(_epochs(13, 200))
    assert plots.x_end == 200.0
    plots.handle_events([FitStarted(2, 4, 2, 100, 20, 0, 1, "cpu")])
    assert plots.x_end == 4.0  # a short run: its whole length


def test_the_smoothed_loss_keeps_up_with_a_falling_loss(plots: TrainingPlots) -> None:
    steps, epochs = 20, 20
    rate = 0.005 ** (1 / (steps * epochs))  # from 2.0 down to 0.01 over the run
    events: list = [FitStarted(1, epochs, steps, 100, 20, 0, 1, "cpu")]
    for i in range(steps * epochs):
        events.append(BatchEnded(i // steps + 1, i % steps + 1, i + 1, 2.0 * rate**i, 0.001, 1.0, 25))
    plots.handle_events(events)
    raw = plots.plot("loss").buffer("train (batch)").y[-1]
    smoothed = plots.plot("loss").buffer("train (smoothed)").y[-1]
    assert smoothed < 1.25 * raw  # a fixed 0.98 reads 2.9× the batch losses here


def test_a_long_crosshair_readout_wraps_instead_of_widening_the_plot(qtbot) -> None:
    live = LivePlot("Loss", "epoch", "loss")
    qtbot.addWidget(live)
    for i in range(6):
        live.add_curve(f"a rather long curve name {i}", (0, 0, 0)).append(1.0, 0.123456)
    live.resize(400, 300)
    live.show()
    before = live.minimumSizeHint().width()
    live.readout_label.setText(live.readout_at(1.0))
    qtbot.wait(10)
    assert live.minimumSizeHint().width() == before and live.width() == 400
    label = live.readout_label
    assert label.wordWrap() and label.heightForWidth(label.width()) > label.fontMetrics().height()  # on 2+ lines


def test_curves_are_as_wide_at_2x_scaling_as_at_1x(qtbot, monkeypatch) -> None:
    from app.plots import pens

    for ratio in (1.0, 2.0):
        monkeypatch.setattr(pens, "pixel_ratio", lambda r=ratio: r)
        live = LivePlot("Loss", "epoch", "loss")
        qtbot.addWidget(live)
        live.add_curve("a", (0, 0, 0))
        pen = live.curve("a").opts["pen"]
        assert pen.isCosmetic() and pen.widthF() == ratio  # device pixels: twice as many at 2×
