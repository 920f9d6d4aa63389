"""The LR finder tab as a person uses it: settings, a live range test on digits, suggestions, Use this LR,
Stop, errors, earlier tests, one job at a time; and the plot's drawing of several seeds."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from history_wait import settled
from PySide6.QtCore import Qt
from window_helpers import (
    LR_FINDER_BUSY,
    RUN_TIMEOUT_MS,
    TRAINING_BUSY,
    close_while_running,
    collect,
    type_into,
    window_on,
)
from window_helpers import run_to_end as run_test

from app.lr_finder import wording as text
from app.lr_finder.curve_plot import BAND_HIGH, BAND_LOW, RAW, SMOOTHED, VALIDATION, LrFinderPlot, loss_span
from app.lr_finder.lr_finder_tab import LrFinderTab
from app.lr_finder.verify_box import VerifyPanel
from app.main_window import MainWindow
from trainers.lr_finder.suggest import SUGGESTION_NAMES
from trainers.spec.config import RunConfig
from trainers.spec.events import BatchEnded, LrFinderCurve, LrFinderResult, LrFinderStarted, LrFinderStep
from trainers.spec.lr_finder_settings import LrFinderSettings
from trainers.spec.lr_verify_events import LrVerifyEpoch, LrVerifyStarted, VerifiedRate, VerifyRow
from trainers.spec.rates import recommended_rate

RATE = re.compile(r"^\d\.\de[-+]\d\d")
SHORT = {"iterations": 30, "start_lr": 1e-5, "end_lr": 1.0}


@pytest.fixture
def window(qtbot, tmp_path: Path) -> Iterator[MainWindow]:
    with window_on(qtbot, f"sqlite:///{tmp_path / 'trials.db'}", "lr_finder") as w:
        yield w


def settle(tab: LrFinderTab, **changes) -> None:
    tab.form.set_settings(LrFinderSettings().replace(**changes))


def collect_steps(tab: LrFinderTab) -> list[LrFinderStep]:
    return collect(tab, LrFinderStep)


def finite_equal(a, b) -> bool:
    return np.array_equal(np.asarray(a, dtype=float), np.asarray(b, dtype=float), equal_nan=True)


# ---- a test on digits, live ------------------------------------------------------------------------
@pytest.mark.slow
def test_range_test_draws_live_and_shows_suggestions(qtbot, window: MainWindow) -> None:
    tab = window.lr_finder
    settle(tab, **SHORT)
    assert "digits · mlp · adam · batch 64" in tab.config_label.text()
    steps = collect_steps(tab)
    live_counts: list[tuple[int, int]] = []  # (steps so far, points in the plot) at each delivery
    tab.events_received.connect(lambda _e: live_counts.append((len(steps), len(tab.plot.buffer(SMOOTHED)))))
    outcome = run_test(qtbot, tab)
    r = outcome.result
    assert r.status == "completed" and len(r.curves) == 1
    assert live_counts and all(n == points for n, points in live_counts)  # drawn as the steps arrived
    smoothed = tab.plot.buffer(SMOOTHED)
    assert len(steps) == len(smoothed) == len(r.curves[0].lrs) > 5
    assert np.all(np.diff(smoothed.x) > 0)
    assert finite_equal(smoothed.y, [s.smoothed for s in steps])
    assert smoothed.x[0] == pytest.approx(1e-5)
    assert tab.progress.value() == len(steps)
    assert "completed" in tab.message.text() and tab.message.property("kind") == "ok"
    found = {n: v for n, v in r.suggestions.items() if v is not None}
    for name in SUGGESTION_NAMES:
        shown = tab.suggestions.values[name].text()
        assert RATE.match(shown) if name in found else shown == "—"
        marker = tab.plot.marker(name)
        assert marker.isVisible() == (name in found)
        if name in found:  # on a log axis a line sits at log10 of its rate
            assert marker.value() == pytest.approx(math.log10(found[name]))
            assert text.format_lr(found[name]) in marker.label.toPlainText()
    if not found:
        assert tab.suggestions.note.text() == r.message != ""
    lo, hi = tab.plot.live.plot_widget.getViewBox().viewRange()[1]
    assert hi < 1.5 * smoothed.y[0] * 1.2  # the blow-up at the end does not set the scale
    assert tab.run_button.isEnabled() and tab.form.editor("iterations").isEnabled()


@pytest.mark.slow
def test_use_this_lr_sets_the_training_form(qtbot, window: MainWindow) -> None:
    tab, form = window.lr_finder, window.training.form
    settle(tab, **SHORT)
    r = run_test(qtbot, tab).result
    assert any(v is not None for v in r.suggestions.values()), r.message  # digits descends clearly
    expected = recommended_rate(r) or r.suggestions["steepest"]  # the engine's rate, else the first suggestion
    chosen = tab.suggestions.chosen_lr()
    assert chosen == text.rounded_lr(expected)  # the preferred value is picked, as shown
    qtbot.mouseClick(tab.suggestions.use_button, Qt.LeftButton)
    assert form.config().optim.lr == chosen
    assert form.editor("optim.lr").focus_widget().text() == f"{chosen:g}"
    assert tab.message.text() == f"optim.lr set to {text.format_lr(chosen)} in the Training tab"

    window.training.form.set_config(RunConfig().replace(**{"schedule.name": "one_cycle"}))
    tab.suggestions.chooser.setCurrentIndex(tab.suggestions.chooser.count() - 1)  # another suggestion
    other = tab.suggestions.chosen_lr()
    qtbot.mouseClick(tab.suggestions.use_button, Qt.LeftButton)
    cfg = form.config()
    assert cfg.optim.lr == other and cfg.schedule.max_lr == other
    assert "optim.lr and schedule.max_lr set to" in tab.message.text()


def test_stop_mid_run_keeps_the_partial_curve(qtbot, window: MainWindow) -> None:
    tab = window.lr_finder
    settle(tab, iterations=20_000, start_lr=1e-6, end_lr=1e-3, diverge_factor=1e6)
    steps = collect_steps(tab)
    tab.start()
    assert tab.running and not tab.run_button.isEnabled() and tab.stop_button.isEnabled()
    assert not tab.form.editor("iterations").isEnabled()  # locked while it runs
    qtbot.waitUntil(lambda: len(steps) > 10, timeout=RUN_TIMEOUT_MS)
    outcome = run_test(qtbot, tab, start=lambda: qtbot.mouseClick(tab.stop_button, Qt.LeftButton))
    r = outcome.result
    assert r.status == "stopped"
    assert 10 < len(r.curves[0].lrs) == len(steps) < 20_000
    assert len(tab.plot.buffer(SMOOTHED)) == len(steps)
    assert "stopped" in tab.message.text() and tab.message.property("kind") == "warn"
    assert tab.earlier_tests()[0][0] == r.trial_id and "stopped" in tab.earlier_tests()[0][1]
    assert tab.run_button.isEnabled() and not tab.stop_button.isEnabled()


def test_invalid_setting_disables_run_with_the_reason(qtbot, window: MainWindow) -> None:
    tab = window.lr_finder
    type_into(qtbot, tab, "start_lr", "0.01")
    type_into(qtbot, tab, "end_lr", "0.001")
    assert not tab.run_button.isEnabled() and not tab.start()
    assert "range_test.end_lr" in tab.message.text() and tab.message.property("kind") == "error"
    assert tab.form.editor("end_lr").error() is not None
    type_into(qtbot, tab, "iterations", "many")
    assert "range_test.iterations" in tab.message.text()
    type_into(qtbot, tab, "iterations", "40")
    type_into(qtbot, tab, "end_lr", "1")
    assert tab.run_button.isEnabled() and "Cannot run" not in tab.message.text()
    assert tab.form.settings() == LrFinderSettings().replace(start_lr=0.01, end_lr=1, iterations=40)

    window.training.form.editor("optim.lr").focus_widget().selectAll()
    qtbot.keyClicks(window.training.form.editor("optim.lr").focus_widget(), "abc")
    assert not tab.run_button.isEnabled()
    assert "Training tab's config is invalid" in tab.message.text() and "optim.lr" in tab.message.text()


def test_validation_samples_only_shown_with_validation_loss(qtbot, window: MainWindow) -> None:
    form = window.lr_finder.form
    assert not form.is_shown("val_samples")
    qtbot.keyClick(form.editor("val_loss").focus_widget(), Qt.Key_Space)
    assert form.is_shown("val_samples") and form.settings().val_loss
    type_into(qtbot, window.lr_finder, "val_samples", "0")
    assert form.settings() is None
    qtbot.keyClick(form.editor("val_loss").focus_widget(), Qt.Key_Space)  # hidden again: it cannot block
    assert not form.is_shown("val_samples") and form.settings() == LrFinderSettings()


@pytest.mark.slow
def test_failed_test_says_why_in_one_line_and_tab_stays_usable(qtbot, window: MainWindow, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,label\n1,2,x\n3,oops,y\n" + "".join(f"{i},{i},x\n" for i in range(30)))
    window.training.form.set_config(RunConfig().replace(**{"data.source": "csv", "data.path": str(bad)}))
    tab = window.lr_finder
    settle(tab, **SHORT)
    r = run_test(qtbot, tab).result
    assert r.status == "failed"
    line = tab.message.text()
    assert "failed" in line and "bad.csv" in line and "\n" not in line and "Traceback" not in line
    assert tab.message.property("kind") == "error"
    window.training.form.set_config(RunConfig())
    assert run_test(qtbot, tab).result.status == "completed"


@pytest.mark.slow
def test_stored_tests_are_listed_and_load_back(qtbot, window: MainWindow) -> None:
    tab = window.lr_finder
    settle(tab, **SHORT)
    first = run_test(qtbot, tab).result
    first_settings = tab.form.settings()
    settle(tab, iterations=15, start_lr=1e-4, end_lr=0.1)
    second = run_test(qtbot, tab).result
    assert [i for i, _ in tab.earlier_tests()] == [second.trial_id, first.trial_id]  # newest first
    assert len(tab.plot.buffer(SMOOTHED)) == len(second.curves[0].lrs)
    index = tab.earlier.combo.findData(first.trial_id)
    tab.earlier.combo.setCurrentIndex(index)
    tab.earlier.combo.activated.emit(index)  # what picking it from the drop-down does
    settled(tab)  # the stored test is read off the GUI thread
    smoothed, raw = tab.plot.buffer(SMOOTHED), tab.plot.buffer(RAW)
    assert finite_equal(smoothed.x, first.curves[0].lrs) and finite_equal(smoothed.y, first.curves[0].smoothed)
    assert finite_equal(raw.y, first.curves[0].losses)
    for name in SUGGESTION_NAMES:
        assert tab.suggestions.values[name].text() == text.suggestion_text(first, name)
    assert f"LR finder run {first.trial_id}" in tab.message.text()
    assert tab.form.settings() == first_settings  # the form shows what the loaded test ran with
    chosen = tab.suggestions.chosen_lr()
    assert chosen is not None
    qtbot.mouseClick(tab.suggestions.use_button, Qt.LeftButton)
    assert window.training.form.config().optim.lr == chosen


@pytest.mark.slow
def test_one_job_at_a_time(qtbot, window: MainWindow) -> None:
    tab, training = window.lr_finder, window.training
    settle(tab, iterations=20_000, start_lr=1e-6, end_lr=1e-3, diverge_factor=1e6)
    steps = collect_steps(tab)
    tab.start()
    assert not training.panel.train_button.isEnabled() and training.panel.message.text() == LR_FINDER_BUSY
    qtbot.keyClick(window, Qt.Key_Return, Qt.ControlModifier)  # the Train shortcut must not start it either
    assert not training.running and not training.start()
    qtbot.waitUntil(lambda: len(steps) > 3, timeout=RUN_TIMEOUT_MS)
    assert run_test(qtbot, tab, start=lambda: qtbot.keyClick(window, Qt.Key_Escape)).result.status == "stopped"
    assert training.panel.train_button.isEnabled() and training.panel.message.text() == ""

    training.form.set_config(RunConfig().replace(**{"train.epochs": 50, "train.batch_size": 1}))
    batches: list = []
    training.events_received.connect(lambda ev: batches.extend(e for e in ev if isinstance(e, BatchEnded)))
    tab.suggestions.show_result(_three_seeds())  # something to use
    assert tab.suggestions.use_button.isEnabled()
    training.start()
    assert not tab.run_button.isEnabled() and not tab.start()
    assert tab.message.text() == TRAINING_BUSY
    assert not tab.suggestions.use_button.isEnabled()  # the training form is in use
    qtbot.waitUntil(lambda: len(batches) > 3, timeout=RUN_TIMEOUT_MS)
    with qtbot.waitSignal(training.run_finished, timeout=RUN_TIMEOUT_MS):
        training.stop()
    assert tab.run_button.isEnabled() and tab.message.text() != TRAINING_BUSY
    assert tab.suggestions.use_button.isEnabled()


@pytest.mark.slow
def test_close_during_range_test_asks_and_stops_it(qtbot, window: MainWindow, monkeypatch) -> None:
    tab = window.lr_finder
    settle(tab, iterations=20_000, start_lr=1e-6, end_lr=1e-3, diverge_factor=1e6)
    steps = collect_steps(tab)
    tab.start()
    qtbot.waitUntil(lambda: bool(steps), timeout=RUN_TIMEOUT_MS)
    outcome = close_while_running(qtbot, window, tab, monkeypatch)
    assert not tab.running and outcome.result.status == "stopped"


# ---- the check by short runs ------------------------------------------------------------------------
TINY = {"train.epochs": 4, "data.train_fraction": 0.2, "train.threads": 1, "train.device": "cpu"}


@pytest.mark.slow
def test_verification_shows_progress_the_evidence_and_the_chosen_rate(qtbot, window: MainWindow) -> None:
    tab = window.lr_finder
    window.training.form.set_config(RunConfig().replace(**TINY))
    settle(tab, iterations=30, verify=True)
    started, epochs = collect(tab, LrVerifyStarted), collect(tab, LrVerifyEpoch)
    bars: list[tuple[int, int, str]] = []  # (value, maximum, format) after each delivery of short-run epochs
    tab.events_received.connect(
        lambda ev: (
            any(isinstance(e, LrVerifyEpoch) for e in ev)
            and bars.append((tab.progress.value(), tab.progress.maximum(), tab.progress.format()))
        )
    )
    r = run_test(qtbot, tab).result
    v = r.verified
    assert r.status == "completed" and v is not None and v.rate is not None, r.message
    assert len(started) == 1 and len(epochs) == started[0].total_epochs == 6
    assert f"Short runs chose {text.format_lr(v.rate)}." in tab.message.text()
    assert bars and all(m == 6 and f.startswith("short runs") for _, m, f in bars)
    assert [value for value, _, _ in bars] == sorted(value for value, _, _ in bars) and bars[-1][0] == 6
    panel = tab.verify
    assert panel.isVisible() and panel.table.rowCount() == len(v.rows)
    for i, row in enumerate(v.rows):
        assert panel.row_texts(i)[:2] == [text.format_lr(row.rate), str(row.epochs)]
    (chosen,) = panel.chosen_rows()
    assert panel.row_texts(chosen)[0] == text.format_lr(v.rate) and "chosen" in panel.row_texts(chosen)[4]
    assert v.message in panel.summary.text()
    assert tab.suggestions.headline.text() == f"Recommended: {text.format_lr(v.rate)}, {text.VERIFIED}"
    assert tab.suggestions.chosen_lr() == text.rounded_lr(v.rate)  # the verified rate is offered first
    settle(tab, iterations=30)
    assert run_test(qtbot, tab).result.verified is None and not panel.isVisible()  # a test without the check
    index = tab.earlier.combo.findData(r.trial_id)
    tab.earlier.combo.setCurrentIndex(index)
    tab.earlier.combo.activated.emit(index)
    settled(tab)
    assert panel.isVisible() and panel.table.rowCount() == len(v.rows)  # an earlier test shows its evidence
    assert tab.form.settings().verify


def test_candidate_count_only_shown_with_the_check(qtbot, window: MainWindow) -> None:
    form = window.lr_finder.form
    assert not form.is_shown("verify_candidates") and not form.settings().verify
    qtbot.keyClick(form.editor("verify").focus_widget(), Qt.Key_Space)
    assert form.is_shown("verify_candidates") and form.settings().verify
    type_into(qtbot, window.lr_finder, "verify_candidates", "9")
    assert form.settings() is None and "range_test.verify_candidates" in window.lr_finder.message.text()
    type_into(qtbot, window.lr_finder, "verify_candidates", "3")
    assert form.settings() == LrFinderSettings(verify=True, verify_candidates=3)


# ---- the plot and the wording, without the engine -------------------------------------------------
def _curve(seed: int, lrs, smoothed, val=None) -> LrFinderCurve:
    return LrFinderCurve(
        seed, tuple(lrs), tuple(s + 0.05 for s in smoothed), tuple(smoothed), None if val is None else tuple(val), ""
    )


def _three_seeds() -> LrFinderResult:
    lrs = [10.0 ** (-5 + i * 0.5) for i in range(10)]
    a = [2.3, 2.3, 2.2, 2.0, 1.5, 1.0, 0.8, 1.2, 4.0, math.inf]
    b = [2.3, 2.25, 2.1, 1.9, 1.4, 1.1, 0.9, 3.9]  # diverged earlier
    c = [2.3, 2.3, 2.3, 2.1, 1.6, 1.2, 0.7, 1.0, 2.0, 5.0]
    return LrFinderResult(
        7,
        "completed",
        (_curve(0, lrs, a, val=[x + 0.1 for x in a]), _curve(1, lrs[:8], b), _curve(2, lrs, c)),
        {"steepest": 1e-3, "valley": 2e-3, "min_div_10": None},
        {"steepest": (8e-4, 1.5e-3), "valley": (1e-3, 3e-3), "min_div_10": None},
        (1e-3, 2e-3),
        ("steepest", "valley"),
        "",
        1.0,
    )


def test_plot_draws_several_seeds_as_a_band_with_markers(qtbot) -> None:
    plot = LrFinderPlot()
    qtbot.addWidget(plot)
    r = _three_seeds()
    plot.show_result(r)
    low, high, smoothed = plot.buffer(BAND_LOW), plot.buffer(BAND_HIGH), plot.buffer(SMOOTHED)
    assert len(low) == len(high) == len(smoothed) == 10
    assert low.y[6] == pytest.approx(0.7) and high.y[6] == pytest.approx(0.9)
    assert smoothed.y[6] == pytest.approx(0.8)  # the mean of the seeds
    assert high.y[9] == pytest.approx(5.0)  # inf is no edge: the seed that reached it is left out
    assert len(plot.buffer(VALIDATION)) == 10
    assert plot.marker("steepest").value() == pytest.approx(-3.0)
    assert plot.marker("valley").value() == pytest.approx(math.log10(2e-3))
    assert not plot.marker("min_div_10").isVisible()
    region = plot.agreed_region.getRegion()
    assert region == pytest.approx((-3.0, math.log10(2e-3))) and plot.agreed_region.isVisible()
    assert not plot.agreed_region.movable
    plot.reset()
    assert len(smoothed) == 0 and not plot.marker("steepest").isVisible() and not plot.agreed_region.isVisible()


def test_plot_moves_finished_seeds_into_the_band_while_live(qtbot) -> None:
    plot = LrFinderPlot()
    qtbot.addWidget(plot)
    start = LrFinderStarted(1, 1, 2, 3, 1e-4, 1e-2, "exp")
    plot.handle_events([start] + [LrFinderStep(1, i + 1, 10.0 ** (-4 + i), 2.0 - i, 2.0 - i / 2) for i in range(3)])
    assert len(plot.buffer(SMOOTHED)) == 3 and len(plot.buffer(BAND_LOW)) == 0
    plot.handle_events([LrFinderStarted(1, 2, 2, 3, 1e-4, 1e-2, "exp"), LrFinderStep(2, 1, 1e-4, 2.1, 2.1)])
    assert len(plot.buffer(SMOOTHED)) == 1 and plot.buffer(SMOOTHED).y[0] == 2.1
    assert plot.buffer(BAND_LOW).y.tolist() == [2.0, 1.5, 1.0]


def test_loss_span_clips_the_blow_up() -> None:
    assert loss_span([np.array([2.3, 1.0, 0.5, 50.0, np.inf])], 2.3) == pytest.approx((0.5, 3.45))
    assert loss_span([np.array([2.0, 1.0])], 2.0, low_only=[np.array([0.4, np.nan])]) == (0.4, 2.0)
    assert loss_span([np.array([np.nan])], None) is None


def test_suggestion_wording_with_spread_and_choices() -> None:
    r = _three_seeds()
    assert text.suggestion_text(r, "valley") == "2.0e-03 (1.0e-03 – 3.0e-03 over 3 seeds)"
    assert text.suggestion_text(r, "min_div_10") == "—"
    assert text.agreed_text(r) == "agree: 1.0e-03 – 2.0e-03 (steepest, valley)"
    options = text.choices(r, SUGGESTION_NAMES)
    assert [rate for _, rate in options] == [1.4e-3, 2e-3, 1e-3]  # band middle, then valley, then steepest
    assert options[0][0].startswith(text.AGREED_MIDDLE)


def test_verified_rate_is_offered_first_and_the_evidence_reads_in_a_table(qtbot) -> None:
    rows = (
        VerifyRow(1e-3, 1, 1.9, 0.5, "dropped"),
        VerifyRow(4e-3, 1, 1.2, 0.7, "kept"),
        VerifyRow(9.0, 1, None, None, "diverged"),
        VerifyRow(4e-3, 2, 0.61234, 0.8123, "chosen"),
    )
    v = VerifiedRate(4e-3, 4, (1e-3, 4e-3, 9.0), rows, "0.004 had the lowest loss of 1 after 2 epochs", 1.0)
    r = dataclasses.replace(_three_seeds(), verified=v)
    options = text.choices(r, SUGGESTION_NAMES)
    assert options[0] == (f"{text.VERIFIED} 4.0e-03", 4e-3)
    assert options[1][0].startswith(text.AGREED_MIDDLE)  # the band's middle is still there to pick
    assert text.headline_text(r) == f"Recommended: 4.0e-03, {text.VERIFIED}"
    assert text.headline_text(_three_seeds()) == "Recommended: 1.4e-03, the middle of the agreed band"
    panel = VerifyPanel()
    qtbot.addWidget(panel)
    panel.show_verified(v)
    assert panel.row_texts(2) == ["9.0e+00", "1", "—", "—", "diverged"]
    assert panel.row_texts(3) == ["4.0e-03", "2", "0.6123", "81.2%", "✔ chosen"] and panel.chosen_rows() == [3]
    assert "3 rates (the schedule of a 4-epoch run)" in panel.summary.text()
    panel.show_verified(None)
    assert panel.table.rowCount() == 0 and panel.isHidden()
