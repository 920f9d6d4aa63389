"""Live plots: growing buffers, dirty-curve refresh, log-y safety, crosshair readout, export, training plots."""

from __future__ import annotations

import csv
import math
import os
import struct
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QPointF, Qt

from app.plots import GrowingBuffer, LivePlot, TrainingPlots
from trainers.spec.events import BatchEnded, EpochEnded, FitEnded, FitStarted

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


# -- GrowingBuffer --------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(st.tuples(finite, finite), st.lists(st.tuples(finite, finite), max_size=40)), max_size=60),
    st.integers(min_value=1, max_value=8),
)
def test_buffer_growth_keeps_every_point(ops: list, capacity: int) -> None:
    buf = GrowingBuffer(capacity)
    expected: list[tuple[float, float]] = []
    reallocations, last_cap, last_version = 0, buf.capacity, buf.version
    for op in ops:
        if isinstance(op, tuple):
            buf.append(*op)
            expected.append(op)
        else:
            buf.extend([p[0] for p in op], [p[1] for p in op])
            expected.extend(op)
        if buf.capacity != last_cap:
            assert buf.capacity >= 2 * last_cap  # grows by doubling, never by one
            reallocations, last_cap = reallocations + 1, buf.capacity
        if isinstance(op, tuple) or op:
            assert buf.version > last_version
        last_version = buf.version
    assert len(buf) == len(expected)
    assert buf.x.dtype == np.float64 and buf.y.dtype == np.float64
    assert buf.x.tolist() == [p[0] for p in expected]
    assert buf.y.tolist() == [p[1] for p in expected]
    assert buf.capacity >= len(buf)
    assert reallocations <= max(0, math.ceil(math.log2(max(len(buf), 1) / capacity))) + 1


def test_buffer_appends_reallocate_logarithmically_and_clear_keeps_capacity() -> None:
    buf = GrowingBuffer(4)
    capacities = set()
    for i in range(10_000):
        buf.append(i, -i)
        capacities.add(buf.capacity)
    assert len(capacities) <= 13  # 4, 8, ..., 16384
    assert buf.x[-1] == 9999.0 and buf.y[-1] == -9999.0
    with pytest.raises(ValueError):
        buf.x[0] = 1.0  # views are read-only, so nobody changes points without bumping version
    cap, version = buf.capacity, buf.version
    buf.clear()
    assert len(buf) == 0 and buf.capacity == cap and buf.version > version
    assert buf.x.size == 0
    with pytest.raises(ValueError):
        buf.extend([1.0, 2.0], [1.0])


def test_buffer_tracks_sortedness() -> None:
    buf = GrowingBuffer()
    buf.extend([1, 2, 2, 3], [0, 0, 0, 0])
    assert buf.x_sorted
    buf.append(2.5, 0)
    assert not buf.x_sorted
    buf.clear()
    assert buf.x_sorted


# -- LivePlot -------------------------------------------------------------------------------
@pytest.fixture
def live(qtbot) -> LivePlot:
    plot = LivePlot("Loss", "epoch", "loss")
    qtbot.addWidget(plot)
    return plot


def test_million_points_refresh_with_downsampling_and_clip(qtbot, live: LivePlot) -> None:
    buf = live.add_curve("train", (0, 0, 255))
    xs = np.linspace(0.0, 10.0, 1_000_000)
    ys = np.sin(xs)
    buf.extend(xs, ys)
    live.resize(600, 400)
    live.show()
    qtbot.waitExposed(live)
    assert live.refresh() == 1
    curve = live.curve("train")
    x, y = curve.getOriginalDataset()
    assert len(x) == 1_000_000 and np.array_equal(x, xs) and np.array_equal(y, ys)
    assert x.dtype == np.float64
    assert curve.opts["autoDownsample"] is True and curve.opts["downsampleMethod"] == "peak"
    assert curve.opts["clipToView"] is True and curve.opts["antialias"] is False
    assert curve.opts["pen"].width() == 1
    shown_x, _ = curve.getData()
    assert 0 < len(shown_x) < 1_000_000  # what is painted is downsampled


def test_only_dirty_curves_are_set(live: LivePlot) -> None:
    a = live.add_curve("a", "r")
    b = live.add_curve("b", "g")
    calls: dict[str, int] = {"a": 0, "b": 0}
    for name in calls:
        curve = live.curve(name)
        original = curve.setData

        def counting(*args, _name=name, _orig=original, **kwargs):
            calls[_name] += 1
            return _orig(*args, **kwargs)

        curve.setData = counting
    a.append(0, 1)
    b.append(0, 2)
    assert live.refresh() == 2 and calls == {"a": 1, "b": 1}
    assert live.refresh() == 0 and calls == {"a": 1, "b": 1}
    a.append(1, 3)
    assert live.refresh() == 1 and calls == {"a": 2, "b": 1}
    assert live.curve("a").getOriginalDataset()[1].tolist() == [1.0, 3.0]


def test_log_y_with_zeros_negatives_and_nonfinite_does_not_raise(qtbot, live: LivePlot) -> None:
    buf = live.add_curve("loss", "r")
    buf.extend([0, 1, 2, 3, 4, 5, 6], [1.0, 0.0, -2.0, math.nan, math.inf, 0.5, -math.inf])
    live.show()
    qtbot.waitExposed(live)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pyqtgraph's log10 warnings would count as failures
        live.refresh()
        assert live.curve("loss").getOriginalDataset()[0].tolist() == [0, 1, 2, 5]
        qtbot.mouseClick(live._log_button, Qt.MouseButton.LeftButton)
        assert live.log_y and live._log_button.isChecked()
        assert live.plot_widget.getAxis("left").logMode is True
        x, y = live.curve("loss").getOriginalDataset()
        assert x.tolist() == [0, 5] and y.tolist() == [1.0, 0.5]
        live.grab()  # paint in log mode
        buf.append(7, 0.0)
        live.refresh()
        live.set_log_y(False)
        assert not live.log_y and not live._log_button.isChecked()
        assert live.curve("loss").getOriginalDataset()[0].tolist() == [0, 1, 2, 5, 7]
        live.grab()


def test_readout_gives_nearest_value_per_curve(live: LivePlot) -> None:
    batch = live.add_curve("batch", "b")
    epoch = live.add_curve("epoch", "r", symbol="o")
    live.add_curve("empty", "g")
    batch.extend([0.25, 0.5, 0.75, 1.0], [4.0, 3.0, 2.0, 1.0])
    epoch.append(1.0, 2.5)
    assert live.readout_at(0.6) == "x=0.6   batch=3   epoch=2.5"
    assert live.readout_at(0.7) == "x=0.7   batch=2   epoch=2.5"
    assert live.readout_at(-5.0) == "x=-5   batch=4   epoch=2.5"
    assert live.readout_at(9.0) == "x=9   batch=1   epoch=2.5"
    unsorted = live.add_curve("unsorted", "k")
    unsorted.extend([3.0, 1.0, 2.0], [30.0, 10.0, 20.0])
    assert live.readout_at(1.1).endswith("unsorted=10")
    live.clear()
    assert live.readout_at(1.0) == ""


def test_mouse_move_moves_crosshair_and_label(qtbot, live: LivePlot) -> None:
    buf = live.add_curve("loss", "r")
    buf.extend([0.0, 1.0, 2.0, 3.0], [5.0, 4.0, 3.0, 2.0])
    live.resize(600, 400)
    live.show()
    qtbot.waitExposed(live)
    live.refresh()
    view_box = live.plot_widget.plotItem.vb
    view_box.setRange(xRange=(0, 3), yRange=(2, 5), padding=0)
    scene_pos = view_box.mapViewToScene(QPointF(2.1, 3.0))
    live.plot_widget.scene().sigMouseMoved.emit(scene_pos)
    qtbot.waitUntil(lambda: live.readout_label.text() != "", timeout=2000)
    assert live.crosshair.isVisible()
    assert live.crosshair.value() == pytest.approx(2.1, abs=0.05)
    assert "loss=3" in live.readout_label.text()


def test_export_png_and_csv(tmp_path, live: LivePlot) -> None:
    a = live.add_curve("train, batch", "b")  # a comma in the name must survive the CSV round trip
    b = live.add_curve("val", "r", symbol="o")
    a.extend([0.1, 0.2, 0.30000000000000004], [1 / 3, 2 / 3, 1e-300])
    b.append(1.0, 0.1 + 0.2)
    live.refresh()
    png = tmp_path / "plot.png"
    live.export_png(png)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width > 0 and height > 0
    out = tmp_path / "plot.csv"
    live.export_csv(out)
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["curve", "x", "y"]
    got = [(r[0], float(r[1]), float(r[2])) for r in rows[1:]]
    assert got == [
        ("train, batch", 0.1, 1 / 3),
        ("train, batch", 0.2, 2 / 3),
        ("train, batch", 0.30000000000000004, 1e-300),
        ("val", 1.0, 0.1 + 0.2),
    ]


def test_tool_buttons_take_keyboard_focus(live: LivePlot) -> None:
    for button in (live._log_button, live._png_button, live._csv_button):
        assert button.focusPolicy() & Qt.FocusPolicy.TabFocus
        assert button.isEnabled()


# -- TrainingPlots --------------------------------------------------------------------------
def _run_events(epochs: int = 3, steps: int = 4, seed: int = 0, with_val: bool = True) -> list:
    rng = np.random.default_rng(seed)
    events: list = [FitStarted(1, epochs, steps, 100, 20, 0, 1234, "cpu")]
    step = 0
    for e in range(1, epochs + 1):
        for b in range(1, steps + 1):
            step += 1
            events.append(
                BatchEnded(e, b, step, float(rng.uniform(0.5, 2.0)), 0.01 * step, float(rng.uniform(0, 3)), 25)
            )
        val = None if (not with_val or e == 2) else float(rng.uniform(0.5, 1.5))
        events.append(
            EpochEnded(
                e,
                float(rng.uniform(0.5, 1.5)),
                0.1 * e,
                val,
                None if val is None else 0.05 * e,
                0.01 * step,
                1.0,
                100.0,
                False,
            )
        )
    events.append(FitEnded(1, "completed", epochs, 1, 0.1, 0.5, None, None, 3.0))
    return events


@pytest.fixture
def plots(qtbot) -> TrainingPlots:
    widget = TrainingPlots()
    qtbot.addWidget(widget)
    return widget


def _points(plots: TrainingPlots, plot: str, curve: str) -> tuple[list, list]:
    buf = plots.plot(plot).buffer(curve)
    return buf.x.tolist(), buf.y.tolist()


def test_training_plots_positions_smoothing_and_gap(plots: TrainingPlots) -> None:
    events = _run_events(epochs=3, steps=4)
    plots.handle_events(events)
    plots.refresh()
    assert plots.names() == ("loss", "accuracy", "lr", "gap", "grad_norm")
    batches = [e for e in events if isinstance(e, BatchEnded)]
    epochs = [e for e in events if isinstance(e, EpochEnded)]
    x, y = _points(plots, "loss", "train (batch)")
    assert x == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0])
    assert y == [b.loss for b in batches]
    avg, smoothed = 0.0, []
    for n, b in enumerate(batches, start=1):  # bias-corrected EMA written out by hand: 4 batches an epoch
        avg = 0.8 * avg + 0.2 * b.loss  # give the shortest span, 5 batches
        smoothed.append(avg / (1 - 0.8**n))
    assert _points(plots, "loss", "train (smoothed)")[1] == pytest.approx(smoothed, rel=1e-12)
    assert _points(plots, "loss", "train (epoch)") == ([1.0, 2.0, 3.0], [e.train_loss for e in epochs])
    assert _points(plots, "loss", "validation (epoch)") == ([1.0, 3.0], [epochs[0].val_loss, epochs[2].val_loss])
    assert _points(plots, "accuracy", "train") == ([1.0, 2.0, 3.0], [e.train_acc for e in epochs])
    assert _points(plots, "accuracy", "validation")[0] == [1.0, 3.0]
    gx, gy = _points(plots, "gap", "validation − training loss")
    assert gx == [1.0, 3.0]  # epoch 2 had no validation: skipped, not zero
    assert gy == pytest.approx([epochs[0].val_loss - epochs[0].train_loss, epochs[2].val_loss - epochs[2].train_loss])
    assert _points(plots, "lr", "learning rate")[1] == pytest.approx([b.lr for b in batches])
    assert _points(plots, "grad_norm", "gradient norm")[1] == [b.grad_norm for b in batches]
    assert len(plots.plot("loss").curve("train (batch)").getOriginalDataset()[0]) == 12  # painted

    plots.handle_events(_run_events(epochs=1, steps=2, seed=1))  # a new run starts from nothing
    plots.refresh()
    x, y = _points(plots, "loss", "train (batch)")
    assert x == [0.5, 1.0]
    assert _points(plots, "loss", "train (smoothed)")[1][0] == pytest.approx(y[0])  # smoother restarted
    assert _points(plots, "gap", "validation − training loss")[0] == [1.0]
    assert len(plots.plot("accuracy").curve("train").getOriginalDataset()[0]) == 1


def test_batch_x_falls_back_to_step_without_fit_started(plots: TrainingPlots) -> None:
    plots.handle_events([BatchEnded(1, 1, 1, 1.0, 0.1, 0.2, 8), BatchEnded(1, 2, 2, 0.9, 0.1, 0.2, 8)])
    assert _points(plots, "grad_norm", "gradient norm")[0] == [1.0, 2.0]


def test_live_timer_paints_and_stop_live_flushes(qtbot, plots: TrainingPlots) -> None:
    curve = plots.plot("loss").curve("train (batch)")
    plots.start_live()
    assert plots.is_live
    plots.handle_events(_run_events(epochs=2, steps=5))
    assert curve.getOriginalDataset()[0] is None  # nothing is painted on arrival ...
    qtbot.waitUntil(
        lambda: len(curve.getOriginalDataset()[0] if curve.getOriginalDataset()[0] is not None else []) == 10,
        timeout=2000,
    )  # ... the timer does it
    plots.stop_live()
    assert not plots.is_live
    plots.handle_events([BatchEnded(3, 1, 11, 0.3, 0.1, 0.1, 8)])
    plots.stop_live()  # the last refresh brings in what came after the last tick
    assert len(curve.getOriginalDataset()[0]) == 11


def test_hidden_plot_is_not_refreshed_and_layout_retiles(qtbot, plots: TrainingPlots) -> None:
    gap = plots.plot("gap")
    curve = gap.curve("validation − training loss")
    with qtbot.waitSignal(plots.visibility_changed, timeout=1000) as blocker:
        plots.set_plot_visible("gap", False)
    assert blocker.args == ["gap", False]
    assert not plots.is_plot_visible("gap") and gap.isHidden()
    plots.handle_events(_run_events())  # FitStarted clears every plot, hidden ones included
    set_calls = []
    original = curve.setData
    curve.setData = lambda *a, **k: set_calls.append(a) or original(*a, **k)
    plots.refresh()
    assert set_calls == [] and len(gap.buffer("validation − training loss")) == 2
    assert plots.plot("loss").curve("validation (epoch)").getOriginalDataset()[0].size == 2  # others drawn
    grid = plots.layout()
    assert grid.indexOf(gap) == -1
    positions = [grid.getItemPosition(grid.indexOf(plots.plot(n))) for n in ("loss", "accuracy", "lr", "grad_norm")]
    assert positions == [(0, 0, 1, 1), (0, 1, 1, 1), (1, 0, 1, 1), (1, 1, 1, 1)]  # no hole where gap was
    with qtbot.waitSignal(plots.visibility_changed, timeout=1000) as blocker:
        plots.set_plot_visible("gap", True)
    assert blocker.args == ["gap", True]
    assert plots.is_plot_visible("gap") and len(set_calls) == 1
    assert curve.getOriginalDataset()[0].size == 2  # brought up to date on showing
    assert grid.getItemPosition(grid.indexOf(gap)) == (1, 1, 1, 1)  # back in its place
    assert grid.getItemPosition(grid.indexOf(plots.plot("grad_norm"))) == (2, 0, 1, 2)  # odd one spans the row
    with qtbot.assertNotEmitted(plots.visibility_changed):
        plots.set_plot_visible("gap", True)  # no change, no signal


def test_unknown_plot_name_is_a_clear_error(plots: TrainingPlots) -> None:
    with pytest.raises(KeyError, match="loss"):
        plots.plot("nope")


@pytest.mark.slow
def test_importing_plots_does_not_load_torch() -> None:
    code = "import app.plots, sys; assert 'torch' not in sys.modules, 'torch was imported'"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert result.returncode == 0, result.stderr


def test_live_timer_slows_down_when_painting_is_expensive(qtbot, monkeypatch) -> None:
    """Painting shares the cores with training: an expensive repaint stretches the next interval."""
    import app.plots.training_plots as tp

    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.handle_events([FitStarted(1, 2, 10, 100, 10, 10, 1000, "cpu")])
    clock = iter([0.0, 0.001, 1.0, 1.020])  # a 1 ms refresh, then a 20 ms one
    monkeypatch.setattr(tp.time, "perf_counter", lambda: next(clock))
    plots.plot("loss").buffer("train (batch)").append(0.1, 1.0)
    plots.refresh()
    assert plots._timer.interval() == tp.REFRESH_MS  # cheap: full rate
    plots.plot("loss").buffer("train (batch)").append(0.2, 0.9)
    plots.refresh()
    assert plots._timer.interval() == min(tp.MAX_REFRESH_MS, round(20 / tp.PAINT_BUDGET))


def test_rate_axis_labels_only_1_2_5_ticks_in_log_mode(qtbot) -> None:
    import math

    from app.plots.rate_axis import RateAxis

    axis = RateAxis(orientation="bottom")
    values = [math.log10(v) for v in (3e-4, 5e-4, 7e-4, 1e-3, 2e-3, 3e-3)]
    axis.setLogMode(True)
    labelled = [bool(t) for t in axis.tickStrings(values, 1.0, 0.1)]
    assert labelled == [False, True, False, True, True, False]
    axis.setLogMode(False)
    assert all(axis.tickStrings([0.1, 0.2, 0.3], 1.0, 0.1))


@pytest.mark.slow
def test_the_window_imports_pyqtgraph_without_its_cuda_probe_and_leaves_cuda_importable() -> None:
    import subprocess
    import sys

    code = (
        "import importlib.util, sys\n"
        "import app.launch\n"
        "assert 'pyqtgraph' in sys.modules\n"
        "print('cuda.bindings.runtime' in sys.modules, sys.modules.get('cuda.bindings.runtime', 1) is None)\n"
        "if importlib.util.find_spec('cuda') is not None:\n"
        "    import cuda.bindings.runtime\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]  # not loaded, and no blocking entry left behind
