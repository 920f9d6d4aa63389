"""The Search tab as a person uses it, on the real engine: the space editor marks what the engine rejects and says
why Start is off, a search runs from the tab and fills the table and the plots as trials end, Apply best, re-runs
and ensembles from the best trials, an earlier search read back from the store, and closing mid-search."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import pytest
from history_wait import all_settled, settled
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from window_helpers import RUN_TIMEOUT_MS, collect, run_to_end, shown_window, window_on

import app.search.search_tab as search_tab_module
from app.help_dialog import ShortcutsDialog
from app.main_window import MainWindow
from app.search import SearchTab
from app.search.importance_feed import SearchImportance
from trainers.api import TrialStore
from trainers.spec.config import RunConfig
from trainers.spec.errors import ConfigError
from trainers.spec.events import FitEnded
from trainers.spec.search_events import SearchResult, SearchStarted, SearchTrialEnded, SearchTrialReported
from trainers.spec.search_settings import SearchSettings

SEARCH_BUSY = "A search is running (Search tab): this can start once it has ended."
# Tiny trials: a fifth of digits, two epochs, one thread, no checkpoints.
BASE = RunConfig().replace(
    **{"data.train_fraction": 0.2, "train.epochs": 2, "train.checkpoints": False, "train.threads": 1}
)
TINY = SearchSettings().replace(trials=3, epochs=2, lr_finder_seed=False, pruner="none")


@pytest.fixture
def window(qtbot, tmp_path: Path) -> Iterator[MainWindow]:
    with window_on(qtbot, f"sqlite:///{tmp_path / 'trials.db'}", "search", BASE) as w:
        yield w


def search(qtbot, tab: SearchTab, settings: SearchSettings = TINY, *fields: str) -> SearchResult:
    """Search lr (ticked from the start) and `fields` with `settings`, from a click on Start, to its end."""
    tab.form.set_settings(settings)
    for key in fields:
        tab.space_editor.row(key).check.setChecked(True)
    outcome = run_to_end(qtbot, tab)
    assert isinstance(outcome.result, SearchResult), outcome.error
    return outcome.result


def type_over(qtbot, line: Any, value: str) -> None:
    line.selectAll()
    qtbot.keyClicks(line, value)


# ---- the space editor ------------------------------------------------------------------------------------------
def test_an_invalid_row_is_marked_in_place_and_start_says_why(qtbot, window: MainWindow) -> None:
    tab = window.search
    lr = tab.space_editor.row("optim.lr")
    assert lr.check.isChecked() and lr.mode_name() == "log" and lr.text() == "log:1e-05:0.1"  # the engine's default
    assert tab.run_button.isEnabled() and tab.space_editor.space() is not None
    type_over(qtbot, lr.low, "0")
    assert not lr.error.isHidden() and "above 0 on a log range" in lr.error.text()
    assert lr.low.property("invalid") == "true"
    assert not tab.run_button.isEnabled()
    reason = tab.run_button.toolTip()
    assert reason.startswith("Cannot start the search: search.optim.lr") and "above 0 on a log range" in reason
    assert tab.message.text() == reason and tab.views.tabText(0) == "Space (1 invalid)"
    type_over(qtbot, lr.low, "1e-4")
    assert lr.error.isHidden() and tab.run_button.isEnabled() and tab.views.tabText(0) == "Space"
    assert tab.space_editor.space().to_dict() == {"optim.lr": "log:0.0001:0.1"}


def test_a_range_the_training_config_rejects_is_marked_on_its_row(qtbot, window: MainWindow) -> None:
    tab = window.search
    warmup = tab.space_editor.row("schedule.warmup_epochs")  # its default range reaches 3; the config trains 2 epochs
    warmup.check.setChecked(True)
    assert "fewer than train.epochs (2)" in warmup.error.text() and not tab.run_button.isEnabled()
    assert "search.schedule.warmup_epochs" in tab.run_button.toolTip()
    window.training.form.set_field("train.epochs", 5)  # the Training tab changes: the row is checked again
    assert warmup.error.isHidden() and tab.run_button.isEnabled()


def test_rows_follow_the_fields_that_apply(qtbot, window: MainWindow) -> None:
    editor = window.search.space_editor
    momentum = editor.row("optim.momentum")
    assert not momentum.shown  # adam has none
    optimizer = editor.row("optim.name")
    optimizer.check.setChecked(True)
    assert optimizer.mode_name() == "choice" and "sgd" in optimizer.choices.text()
    assert momentum.shown  # sgd is among the choices
    type_over(qtbot, optimizer.choices, "adam, adamw")
    assert not momentum.shown
    assert editor.row("model.kernel_size").shown is False  # a CNN field under an MLP
    assert "train.threads" not in editor.rows and "data.source" not in editor.rows  # never searched


def test_nothing_ticked_or_a_grid_over_a_log_range_cannot_start(qtbot, window: MainWindow) -> None:
    tab = window.search
    tab.space_editor.row("optim.lr").check.setChecked(False)
    assert not tab.run_button.isEnabled() and "no field is searched" in tab.run_button.toolTip()
    tab.space_editor.row("optim.lr").check.setChecked(True)
    tab.form.set_field("sampler", "grid")
    assert not tab.run_button.isEnabled() and "search_run.sampler" in tab.run_button.toolTip()


def test_an_empty_store_has_no_earlier_searches_and_nothing_to_apply(window: MainWindow) -> None:
    tab = window.search
    assert tab.earlier.combo.itemText(0) == "(no earlier searches)" and not tab.earlier.combo.isEnabled()
    assert not tab.best.apply_button.isEnabled() and tab.best.note.text() == "Run a search, or choose an earlier one."


def test_alt_keys_of_the_tab_do_not_collide(window: MainWindow) -> None:
    def key(label: str) -> str:
        found = re.search(r"&([^&])", label)
        return found.group(1).lower() if found else ""

    tab = window.search
    window_wide = [key(a.text()) for a in window.menuBar().actions()]
    window_wide += [key(window.tabs.tabText(i)) for i in range(window.tabs.count())]
    assert len(set(window_wide)) == len(window_wide) and "c" in window_wide
    labels = [tab.form.label(name).text() for name in tab.form.shown_fields()]
    labels += [tab.run_button.text(), tab.stop_button.text(), tab.earlier.label.text()]
    labels += [b.text() for b in (tab.best.apply_button, tab.best.rerun_button, tab.best.ensemble_button)]
    keys = [k for k in (key(label) for label in labels) if k]
    assert len(set(keys)) == len(keys) and not set(keys) & set(window_wide), labels
    history_buttons = [key(a.text()) for a in window.history.actions.all()]
    assert "c" not in history_buttons  # Alt+C, the Search tab's, is no button of another tab


def test_the_shortcuts_dialog_lists_the_search_tab(qtbot, window: MainWindow) -> None:
    assert [window.tabs.tabText(i).replace("&", "") for i in range(window.tabs.count())][2] == "Search"
    dialog = ShortcutsDialog(window.menuBar(), window, window.tabs)
    qtbot.addWidget(dialog)
    rows = [(dialog.table.item(r, 0).text(), dialog.table.item(r, 1).text()) for r in range(dialog.table.rowCount())]
    assert ("Alt+C", "Show the Search tab") in rows


# ---- the views, from hand-made events ----------------------------------------------------------------------------
def test_a_pruned_trial_draws_greyed_and_dashed_and_counts_apart(window: MainWindow) -> None:
    tab = window.search
    space = {"optim.lr": "log:1e-05:0.1", "train.batch_size": "choice:32,64"}
    started = SearchStarted(9, "search-9", "x.journal", "tpe", "median", 2, 0.0, 3, 1, "val_acc", space)
    tab.on_job_events(
        [
            started,
            SearchTrialReported(0, 10, 1, 0.5),
            SearchTrialReported(0, 10, 2, 0.7),
            SearchTrialEnded(
                0, 10, "complete", 0.8, {"optim.lr": 1e-3, "train.batch_size": 64}, 3, None, (0.5, 0.7, 0.8)
            ),
            SearchTrialReported(1, 11, 1, 0.2),
        ]
    )
    assert tab.table.cell_text(1, "State") == "running" and tab.table.cell_text(1, "Value") == "0.2"
    assert tab.intermediate.line_style(1) == Qt.PenStyle.SolidLine and tab.progress.value() == 1
    pruned = SearchTrialEnded(1, 11, "pruned", 0.3, {"optim.lr": 0.05, "train.batch_size": 32}, 2, 2, (0.2, 0.3))
    tab.on_job_events([pruned, FitEnded(11, "stopped", 2, 2, 0.3, 1.0, None, None, 4.5)])
    assert tab.table.cell_text(1, "State") == "pruned" and tab.table.cell_text(1, "Pruned at") == "2"
    assert tab.table.cell_text(1, "Duration") == "4.5 s"
    assert tab.intermediate.line_style(1) == Qt.PenStyle.DashLine and tab.intermediate.line_points(1) == 2
    assert tab.history_plot.point_count() == 2 and tab.parallel.line_count() == 1  # a pruned value is not a result
    assert list(tab.history_plot.best_line()[1]) == [0.8, 0.8]
    tab.on_job_events([SearchImportance({"optim.lr": 0.75, "train.batch_size": 0.25}, "ped_anova")])
    assert tab.importance.values == {"optim.lr": 0.75, "train.batch_size": 0.25} and tab.importance.bars is not None
    tab.on_job_events([SearchImportance(reason="importance needs at least 2 completed trials (1 so far)")])
    assert tab.importance.bars is None and "at least 2 completed" in tab.importance.note.text()


# ---- a search from the tab -------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_search_fills_the_table_and_the_plots_as_trials_end(qtbot, window: MainWindow) -> None:
    tab = window.search
    ended = collect(tab, SearchTrialEnded)
    shown_at_end: list[tuple[int, int]] = []  # (trials ended so far, rows then) at each delivery
    tab.events_received.connect(lambda _e: shown_at_end.append((len(ended), tab.table.rowCount())))
    blocked: list[str] = []
    tab.run_started.connect(lambda: blocked.append(window.training.panel.message.text()))
    r = search(qtbot, tab, TINY, "model.dropout")
    assert r.status == "completed" and r.counts["complete"] == 3 and len(ended) == 3
    assert blocked == [SEARCH_BUSY]  # one job at a time, in the search's words
    assert all(rows >= n for n, rows in shown_at_end)  # each trial had its row once its end was delivered
    assert tab.table.rowCount() == 3 and tab.history_plot.point_count() == 3
    assert tab.intermediate.line_count() == 3 and all(tab.intermediate.line_points(e.number) == 2 for e in ended)
    assert tab.parallel.line_count() == 3
    for e in ended:
        assert tab.table.cell_text(e.number, "State") == "complete"
        assert (
            tab.table.cell_text(e.number, "Epochs") == "2"
            and tab.table.cell_text(e.number, "Trial") == f"#{e.trial_id}"
        )
        assert tab.table.cell_text(e.number, "Duration").endswith(" s")
        assert tab.table.cell_text(e.number, "optim.lr") == f"{e.params['optim.lr']:.4g}"
    best_x, best_y = tab.history_plot.best_line()
    assert best_y[-1] == pytest.approx(r.best_value)  # the step line ends at the search's best
    assert set(tab.importance.values) == {"optim.lr", "model.dropout"}  # measured by the engine as trials ended
    assert f"Search {r.search_id} completed" in tab.message.text() and tab.best.apply_button.isEnabled()
    assert tab.earlier.combo.currentData() == r.search_id


@pytest.mark.slow
def test_fanova_ranks_the_search_on_show_in_the_background(qtbot, window: MainWindow, monkeypatch) -> None:
    tab, button = window.search, window.search.importance.fanova_button
    assert not button.isEnabled()  # no search on show
    search(qtbot, tab, TINY, "model.dropout")
    assert button.isEnabled()
    button.click()
    assert button.text() == "Ranking by fANOVA…" and not button.isEnabled()  # the window goes on meanwhile
    qtbot.waitUntil(button.isEnabled, timeout=RUN_TIMEOUT_MS)
    assert "fANOVA over 3 completed trials" in tab.importance.note.text(), tab.importance.note.text()
    assert set(tab.importance.values) == {"optim.lr", "model.dropout"} and tab.importance.bars is not None
    assert all(v >= 0 for v in tab.importance.values.values())

    def refused(_search_id: int, _store_url: str | None = None) -> None:
        raise ConfigError("importance.method", "fanova", "scikit-learn installed")

    monkeypatch.setattr(search_tab_module, "fanova_importance", refused)
    button.click()
    qtbot.waitUntil(button.isEnabled, timeout=RUN_TIMEOUT_MS)
    assert tab.importance.note.text().startswith("fANOVA could not rank the parameters: ")
    assert "scikit-learn installed" in tab.importance.note.text()


@pytest.mark.slow
def test_ctrl_p_pauses_a_running_search_and_resumes_it(qtbot, window: MainWindow) -> None:
    tab = window.search
    assert not tab.pause_button.isEnabled() and not window.pause_action.isEnabled()
    paused: list[bool] = []

    def on_events(events: list) -> None:
        if any(isinstance(e, SearchTrialReported) for e in events) and not paused:
            window.pause_action.trigger()  # Ctrl+P, once the first trial has reported an epoch
            paused.append(True)

    tab.events_received.connect(on_events)
    tab.form.set_settings(TINY.replace(trials=4, epochs=6))
    with qtbot.waitSignal(tab.run_finished, timeout=RUN_TIMEOUT_MS):
        tab.start()
        qtbot.waitUntil(lambda: bool(paused), timeout=RUN_TIMEOUT_MS)
        assert window.runner.paused and tab.pause_button.text() == "Resume" and "Paused" in tab.message.text()
        qtbot.wait(1000)  # what was under way when the pause came has been delivered
        reports = len(tab.log.in_order()), sum(len(r.values_by_epoch) for r in tab.log.in_order())
        qtbot.wait(1500)
        assert (
            len(tab.log.in_order()),
            sum(len(r.values_by_epoch) for r in tab.log.in_order()),
        ) == reports  # nothing new
        qtbot.mouseClick(tab.pause_button, Qt.LeftButton)
        assert not window.runner.paused and tab.pause_button.text() == "Pause"
    assert tab.result is not None and tab.result.counts["complete"] == 4
    assert not tab.pause_button.isEnabled() and not window.pause_action.isEnabled()


@pytest.mark.slow
def test_apply_best_puts_the_best_trials_config_into_the_training_tab(qtbot, window: MainWindow) -> None:
    tab = window.search
    r = search(qtbot, tab, TINY, "model.dropout")
    qtbot.mouseClick(tab.best.apply_button, Qt.LeftButton)  # the store answers on the tab's reader thread
    qtbot.waitUntil(lambda: window.tabs.currentWidget() is window.training, timeout=10_000)
    cfg = window.config.config()
    assert cfg is not None
    assert cfg.optim.lr == r.best_params["optim.lr"] and cfg.model.dropout == r.best_params["model.dropout"]
    assert cfg.data.train_fraction == 0.2 and f"trial {r.best_trial_id}" in window.training.panel.message.text()


@pytest.mark.slow
def test_the_top_trials_rerun_with_seeds_and_fill_an_ensemble(qtbot, window: MainWindow) -> None:
    window.training.form.set_field("train.checkpoints", True)  # an ensemble needs the trials' weights
    tab = window.search
    r = search(qtbot, tab, TINY.replace(trials=4))
    qtbot.mouseClick(tab.best.ensemble_button, Qt.LeftButton)
    ensembles = window.ensembles
    qtbot.waitUntil(lambda: window.tabs.currentWidget() is ensembles, timeout=10_000)
    ids = [int(i) for i in ensembles.form.settings().trials.split(",")]
    assert len(ids) == 4 and ids[0] == r.best_trial_id  # best first
    window.tabs.setCurrentWidget(tab)
    with qtbot.waitSignal(window.history.run_finished, timeout=RUN_TIMEOUT_MS):
        qtbot.mouseClick(tab.best.rerun_button, Qt.LeftButton)
        qtbot.waitUntil(lambda: window.history.rerun.running, timeout=10_000)
        assert window.tabs.currentWidget() is window.history
        assert not tab.run_button.isEnabled() and not tab.best.apply_button.isEnabled()  # one job at a time
    assert window.history.rerun.trial_ids == ids[:3] and window.history.rerun.seeds_used == 3
    with TrialStore(window.search.store_url) as store:
        assert len(store.list_trials(kind="train")) == 4 + 9


@pytest.mark.slow
def test_an_earlier_search_comes_back_from_the_store(qtbot, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'trials.db'}"
    with window_on(qtbot, url, "search", BASE) as first:
        r = search(qtbot, first.search, TINY.replace(trials=4, seed=7), "train.batch_size")
        first_rows = {e: first.search.table.cell_text(e, "Value") for e in range(4)}
    with shown_window(qtbot, url) as w:
        w.engine_ready()
        all_settled(w)  # the earlier searches are listed off the GUI thread
        tab = w.search
        assert tab.table.rowCount() == 0 and tab.space_editor.searched() == ["optim.lr"]
        assert [trial_id for trial_id, _label in tab.earlier_searches()] == [r.search_id]
        tab.earlier.combo.setCurrentIndex(1)
        tab.earlier.combo.activated.emit(1)
        settled(tab)  # the stored search is read off the GUI thread
        assert tab.table.rowCount() == 4 and tab.history_plot.point_count() == 4
        assert {e: tab.table.cell_text(e, "Value") for e in range(4)} == first_rows
        assert tab.table.cell_text(0, "Duration").endswith(" s")
        assert tab.form.settings().trials == 4 and tab.form.settings().seed == 7
        assert tab.space_editor.searched() == ["optim.lr", "train.batch_size"]
        assert tab.parallel.line_count() == 4 and tab.intermediate.line_count() == 4
        assert f"Showing: Search {r.search_id} completed" in tab.message.text()
        assert tab.best.apply_button.isEnabled()


@pytest.mark.slow
def test_closing_mid_search_asks_then_stops_it_and_keeps_what_finished(qtbot, window: MainWindow) -> None:
    tab = window.search
    ended = collect(tab, SearchTrialEnded)
    tab.form.set_settings(TINY.replace(trials=200, epochs=20))
    with qtbot.waitSignal(tab.events_received, timeout=RUN_TIMEOUT_MS, check_params_cb=lambda _e: len(ended) >= 1):
        qtbot.mouseClick(tab.run_button, Qt.LeftButton)
    window.close()
    box = window.close_question.box
    assert box is not None and "A search is in progress (Search tab)" in box.text()
    box.button(QMessageBox.StandardButton.No).click()
    assert window.isVisible() and tab.running
    with qtbot.waitSignal(tab.run_finished, timeout=RUN_TIMEOUT_MS) as blocker:
        window.close()
        window.close_question.box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)
    r = blocker.args[0].result
    assert r.status == "stopped" and r.counts["complete"] >= 1 and r.counts["complete"] < 200
    with TrialStore(tab.store_url) as store:
        assert store.get_trial(r.search_id).status == "stopped"
        statuses = [t.status for t in store.list_trials(kind="train")]
    assert statuses.count("completed") == r.counts["complete"] and "running" not in statuses
