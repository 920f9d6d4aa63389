"""The Ensembles tab as a person uses it: the settings per method and their errors, the live member rows and the
results table, combining stored digits trials and training new members (bagging), Stop, export and load back,
earlier ensembles, the History selection, one job at a time, and a bad trial id shown in one line.

A store with three real short digits runs is built once; each test works on its own copy of it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from history_wait import settled
from PySide6.QtCore import Qt
from window_helpers import (
    ENSEMBLE_BUSY,
    RUN_TIMEOUT_MS,
    TRAINING_BUSY,
    close_while_running,
    collect,
    type_into,
    window_on,
)
from window_helpers import run_to_end as build

import trainers.api as api
from app.ensembles import EnsembleTab
from app.ensembles import wording as text
from app.main_window import MainWindow
from trainers.api import TrialStore, run_training
from trainers.data import load_dataset
from trainers.spec.config import RunConfig
from trainers.spec.ensemble_events import EnsembleResult, EnsembleStarted, MemberProgress, MemberScore
from trainers.spec.ensemble_settings import MEASURED_GAIN, METHODS, EnsembleSettings

BASE = {"train.epochs": 2, "train.threads": 1, "train.device": "cpu", "train.batch_size": 128}
SEEDS = (0, 1, 2)  # three stored trials: ids 1, 2, 3


@pytest.fixture(scope="module")
def built_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ensembles")
    with TrialStore(str(folder / "trials.db")) as store:
        for seed in SEEDS:
            assert run_training(RunConfig().replace(**{**BASE, "train.seed": seed}), store=store).status == "completed"
    return folder


@pytest.fixture
def window(qtbot, store_url: str) -> Iterator[MainWindow]:
    with window_on(qtbot, store_url, "ensembles", RunConfig().replace(**BASE)) as w:
        yield w


def settle(tab: EnsembleTab, **changes) -> None:
    tab.form.set_settings(EnsembleSettings().replace(**changes))


def progress_events(tab: EnsembleTab) -> list[MemberProgress]:
    return collect(tab, MemberProgress)


# ---- the form ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_form_shows_only_the_fields_the_method_uses(qtbot, window: MainWindow) -> None:
    tab = window.ensembles
    expected = {
        "greedy-selection": ["method", "pool", "rounds", "trials", "select_by", "folds"],
        "soft-vote": ["method", "top", "trials", "select_by"],
        "stacking": ["method", "top", "trials", "select_by", "folds"],
        "bagging": ["method", "members", "vectorise"],
        "adaboost": ["method", "members", "boost_rate"],
        "gradient-boost": ["method", "members", "boost_rate"],
        "weighted": ["method", "top", "trials", "select_by", "folds"],
        "snapshot": ["method", "members"],
    }
    combo = tab.form.editor("method").focus_widget()
    assert combo.currentText() == "Greedy selection" and combo.count() == len(METHODS)
    for method, fields in expected.items():
        combo.setCurrentIndex(combo.findData(method))  # as picked with the mouse or keys
        assert sorted(tab.form.shown_fields()) == sorted(fields), method
        trains = method in ("bagging", "adaboost", "gradient-boost", "snapshot")
        assert tab.candidates.isVisible() != trains and tab.config_label.isVisible() == trains
        assert tab.form.settings().method == method
    assert (
        tab.config_label.text()
        == "Uses the Training tab's config: digits · mlp · adam · batch 128 · 2 epochs in 5 cycles"
    )


def test_bad_input_names_the_field_and_blocks_build(qtbot, window: MainWindow) -> None:
    tab = window.ensembles
    type_into(qtbot, tab, "trials", "3, x")
    assert tab.form.settings() is None and not tab.run_button.isEnabled() and not tab.start()
    assert "ensemble.trials" in tab.message.text() and tab.message.property("kind") == "error"
    assert tab.form.editor("trials").error() is not None
    type_into(qtbot, tab, "trials", "3")
    assert "at least two trial ids" in tab.message.text()
    type_into(qtbot, tab, "trials", "1, 3")
    assert tab.form.settings().trial_ids() == (1, 3) and "Cannot build" not in tab.message.text()
    type_into(qtbot, tab, "pool", "1")
    assert "ensemble.pool" in tab.message.text() and not tab.run_button.isEnabled()
    settle(tab, method="soft-vote")
    tab.form.set_field("top", "1")
    tab.form.set_field("method", "bagging")  # the hidden field takes its last valid value: it cannot block
    assert tab.form.settings() == EnsembleSettings().replace(method="bagging")
    assert tab.run_button.isEnabled()
    window.training.form.editor("optim.lr").focus_widget().selectAll()
    qtbot.keyClicks(window.training.form.editor("optim.lr").focus_widget(), "abc")
    assert not tab.run_button.isEnabled() and "optim.lr" in tab.message.text()  # training needs its config
    tab.form.set_field("method", "soft-vote")  # combining does not
    assert tab.run_button.isEnabled()


def test_alt_keys_in_the_tab_do_not_collide(window: MainWindow) -> None:
    def key(label: str) -> str:
        found = re.search(r"&([^&])", label)
        return found.group(1).lower() if found else ""

    window_wide = [key(a.text()) for a in window.menuBar().actions()]
    window_wide += [key(window.tabs.tabText(i)) for i in range(window.tabs.count())]
    tab = window.ensembles
    for method in METHODS:
        tab.form.set_field("method", method)
        labels = [tab.form.label(name).text() for name in tab.form.shown_fields()]
        labels += [tab.run_button.text(), tab.stop_button.text(), tab.export_button.text(), tab.earlier.label.text()]
        if not tab.form.trains():
            labels += [tab.candidates.title.text(), tab.candidates.use_button.text()]
        keys = [key(label) for label in labels]
        assert all(keys) and len(set(keys)) == len(keys), (method, labels)
        assert not set(keys) & set(window_wide), method


# ---- the tables, from hand-made events -------------------------------------------------------------
def _result() -> EnsembleResult:
    members = (
        MemberScore("#1 · mlp", 1, 0.5, 0.90, 0.31, 0.88, 0.35),
        MemberScore("#2 · mlp", 2, 0.5, 0.86, 0.40, 0.87, 0.38),
    )
    ensemble = MemberScore("ensemble", None, None, 0.93, 0.25, 0.91, 0.29)
    return EnsembleResult(
        12,
        "completed",
        "weighted",
        members,
        ensemble,
        {"val_acc": {"best": 0.03, "mean": 0.05}, "test_acc": {"best": 0.03, "mean": 0.035}},
        0.0834,
        "test",
        1.5,
        "",
        None,
        "weights fitted on the validation split",
    )


def test_hand_fed_events_fill_the_member_rows_and_the_bar(window: MainWindow) -> None:
    tab = window.ensembles
    tab.handle_events([EnsembleStarted(9, "bagging", ("member 1", "member 2", "member 3"), 2, True)])
    assert tab.members.rowCount() == 3 and tab.progress.maximum() == 6 and tab.progress.value() == 0
    assert "Bagging, 3 members × 2 epochs, trained together" in tab.message.text()
    tab.handle_events(
        [MemberProgress(m, 1, 2, 1.0 + m, 0.9, 0.75) for m in range(3)] + [MemberProgress(0, 2, 2, 0.5, 0.4, 0.9123)]
    )
    assert tab.members.row_texts(0) == ["member 1", "2 / 2 epochs", "0.5000", "0.4000", "91.2 %"]
    assert tab.members.row_texts(2) == ["member 3", "1 / 2 epochs", "3.0000", "0.9000", "75.0 %"]
    assert tab.members.bar(0).value() == 2 and tab.progress.value() == 4
    tab.handle_events([EnsembleStarted(10, "soft-vote", ("#1 · mlp", "#2 · mlp"), 0, False)])
    assert tab.members.row_texts(1)[:2] == ["#2 · mlp", "loaded"]  # stored trials are not trained again


def test_results_table_shows_members_ensemble_gains_and_diversity(window: MainWindow) -> None:
    view = window.ensembles.results
    view.show_result(_result())
    assert view.table.rowCount() == 3
    assert view.row_texts(0) == ["#1 · mlp", "0.500", "90.0 %", "0.3100", "88.0 %", "0.3500"]
    assert view.row_texts(2) == ["ensemble", "—", "93.0 %", "0.2500", "91.0 %", "0.2900"]
    assert view.is_bold(2) and not view.is_bold(0)
    assert view.gains.text().splitlines() == [
        "Gain in validation accuracy: +3.0 points vs the best member, +5.0 points vs the mean member",
        "Gain in test accuracy: +3.0 points vs the best member, +3.5 points vs the mean member",
    ]
    assert view.diversity.text().startswith("Diversity: 0.083 (mean pairwise disagreement on the test split")
    assert view.note.text() == "weights fitted on the validation split" and not view.note.isHidden()
    assert "Ensemble 12: Weighted averaging of 2 members" in view.headline.text()
    view.show_result(None)
    assert view.table.rowCount() == 0 and view.gains.isHidden() and view.note.isHidden()


def test_greedy_selection_is_offered_first_and_chosen_by_default(window: MainWindow) -> None:
    tab = window.ensembles
    combo = tab.form.editor("method").focus_widget()
    assert combo.itemData(0) == "greedy-selection" and combo.currentText() == "Greedy selection"
    assert tab.form.settings() == EnsembleSettings() and tab.form.settings().method == "greedy-selection"
    assert tab.candidates.title.text() == "Will ch&oose from:" and not tab.form.trains()
    tab.form.set_field("method", "soft-vote")
    assert tab.candidates.title.text() == "Will c&ombine:"
    assert tab.results.headline.text().endswith(f"What to expect: {MEASURED_GAIN}.")  # measured, not hoped


def test_a_greedy_result_stands_beside_the_best_single_trial(window: MainWindow) -> None:
    members = (
        MemberScore("#1 · mlp", 1, 2.0, 0.90, 0.31, 0.88, 0.35),
        MemberScore("#2 · mlp", 2, 1.0, 0.86, 0.40, 0.87, 0.38),
    )
    result = EnsembleResult(
        12,
        "completed",
        "greedy-selection",
        members,
        MemberScore("ensemble", None, None, 0.93, 0.25, 0.91, 0.29),
        {
            "val_acc": {"best": 0.03, "mean": 0.05, "first": 0.01},
            "test_acc": {"best": 0.03, "mean": 0.035, "first": 0.04},
        },
        0.0834,
        "test",
        1.5,
        "greedy selection picked 2 of 20 trials in 3 picks (weight = times picked)",
        None,
        "",
        MemberScore("#3 · mlp", 3, None, 0.92, 0.30, 0.87, 0.40),
        20,
    )
    view = window.ensembles.results
    view.show_result(result)
    assert view.headline.text() == "Ensemble 12: Greedy selection of 2 members, chosen from 20 trials (completed)"
    assert view.single.text() == "Best single trial: trial 3, ranked first of 20: validation 92.0 %, test 87.0 %"
    assert view.gains.text().splitlines()[1] == (
        "Gain in test accuracy: +3.0 points vs the best member, +3.5 points vs the mean member, "
        "+4.0 points vs the best single trial"
    )
    assert view.note.text() == "greedy selection picked 2 of 20 trials in 3 picks (weight = times picked)"
    assert view.row_texts(0)[1] == "2.000"

    class Outcome:
        result = None
        error = ""

    Outcome.result = result
    line = text.describe_outcome(Outcome())[0]
    assert "test accuracy 91.0 % (+4.0 points vs the best single trial)." in line


def test_outcome_wording() -> None:
    assert text.points(0.012) == "+1.2 points" and text.points(-0.01) == "-1.0 point" and text.points(None) == "—"
    assert text.points(-0.0001) == "+0.0 points"
    assert text.gains_lines({"val_acc": {"best": None, "mean": None}}) == []

    class Outcome:
        def __init__(self, result, error=""):
            self.result, self.error = result, error

    line, kind = text.describe_outcome(Outcome(_result()))
    assert (
        line
        == "Ensemble 12 (Weighted averaging) completed in 1.5 s: test accuracy 91.0 % (+3.0 points vs the best member)."
        and kind == "ok"
    )
    assert text.describe_outcome(Outcome(None, "no trial 99"))[0] == "The ensemble could not start: no trial 99"


# ---- with the engine -------------------------------------------------------------------------------
@pytest.mark.slow
def test_top_k_lists_trials_of_the_most_recent_trials_dataset(
    qtbot, window: MainWindow, store_url: str, tmp_path: Path
) -> None:
    """A one-off perfect score on a tiny table (trial 4) does not take the place of digits trials."""
    table = tmp_path / "tiny.csv"
    table.write_text("a,label\n1,x\n2,y\n3,x\n4,y\n")
    with TrialStore(store_url) as store:
        weights = store.get_trial(3).checkpoint_best
        for cfg, acc in ((RunConfig().replace(**{"data.source": "csv", "data.path": str(table)}), 1.0), (None, 0.5)):
            cfg = cfg or RunConfig().replace(**{**BASE, "train.seed": 9})
            tid = store.create_trial("train", cfg.to_dict(), **api.trial_summary(cfg))
            store.finish_trial(tid, "completed", best_val_acc=acc, best_val_loss=1 - acc, checkpoint_best=weights)
    tab = window.ensembles
    settle(tab, method="soft-vote", top=3, trials="")
    tab.refresh_candidates()
    settled(tab)  # read off the GUI thread
    assert sorted(tab.candidates.trial_ids()) == [1, 2, 3]
    labels = [tab.candidates.list.item(i).text() for i in range(tab.candidates.list.count())]
    assert all(label.endswith(" · digits") for label in labels), labels


@pytest.mark.slow
def test_greedy_selection_of_stored_trials_shows_results_and_a_ranked_ensemble_trial(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    tab = window.ensembles
    qtbot.waitUntil(lambda: tab.candidates.trial_ids() != [], timeout=5000)
    assert sorted(tab.candidates.trial_ids()) == [1, 2, 3]  # every stored trial: the pool it chooses from
    r = build(qtbot, tab).result  # the default method
    assert r.status == "completed" and r.method == "greedy-selection" and 1 <= len(r.members) <= 3
    assert r.pool == 3 and r.best_single is not None and r.best_single.trial_id in (1, 2, 3)
    table_rows = len(r.members) + 1
    assert tab.results.table.rowCount() == table_rows and tab.results.is_bold(table_rows - 1)
    assert tab.results.single.text().startswith(f"Best single trial: trial {r.best_single.trial_id}, ranked first")
    assert "vs the best single trial" in tab.results.gains.text() and "greedy selection" in tab.results.note.text()
    assert "completed" in tab.message.text() and tab.message.property("kind") == "ok"
    assert tab.earlier_ensembles()[0][0] == r.trial_id
    history = window.history
    window.tabs.setCurrentWidget(history)  # a hidden tab refreshes when it is shown
    history.refresh()
    settled(history)
    rows = [history.model.trial_at(i) for i in range(history.model.rowCount())]
    found = [row for row in rows if row is not None and row.trial.id == r.trial_id]
    assert found and found[0].trial.kind == "ensemble" and found[0].rank is not None  # ranked with the others

    written = tab.export_to(tmp_path / "vote")  # on the tab's reader thread: the line says when it is written
    assert written == tmp_path / "vote.tlens" and tab.message.text().startswith("Exporting ensemble")
    qtbot.waitUntil(lambda: "Exported ensemble" in tab.message.text(), timeout=10_000)
    assert written.is_file()
    test = load_dataset(RunConfig().replace(**BASE).data).test
    proba = api.load_ensemble(written).predict_proba(test.x)
    assert proba.shape == (len(test), 10) and np.allclose(proba.sum(axis=1), 1.0)
    assert (proba.argmax(axis=1) == test.y.numpy()).mean() == pytest.approx(r.ensemble.test_acc)

    tab.results.show_result(None)
    assert tab.show_earlier(r.trial_id)  # shown again as it was
    assert tab.results.table.rowCount() == table_rows and tab.results.is_bold(table_rows - 1)
    assert tab.results.row_texts(table_rows - 1)[2] == text.percent(r.ensemble.val_acc)
    assert tab.results.single.text() == text.best_single_line(r)


@pytest.mark.slow
def test_bagging_trains_members_live_to_the_end(qtbot, window: MainWindow) -> None:
    tab = window.ensembles
    settle(tab, method="bagging", members=3)
    seen = progress_events(tab)
    r = build(qtbot, tab).result
    assert r.status == "completed" and len(r.members) == 3 and r.ensemble is not None, r.message
    assert {e.member for e in seen} == {0, 1, 2} and max(e.epoch for e in seen) == 2
    assert tab.members.rowCount() == 3
    assert all(tab.members.bar(row).value() == tab.members.bar(row).maximum() == 2 for row in range(3))
    assert tab.progress.value() == tab.progress.maximum() == 6
    assert tab.results.table.rowCount() == 4 and tab.run_button.isEnabled()


@pytest.mark.slow
def test_stop_ends_the_ensemble_as_stopped_and_one_job_runs_at_a_time(qtbot, window: MainWindow) -> None:
    tab, training = window.ensembles, window.training
    training.form.set_config(RunConfig().replace(**{**BASE, "train.epochs": 200, "train.batch_size": 16}))
    settle(tab, method="bagging", members=3)
    seen = progress_events(tab)
    assert tab.start()
    assert tab.running and not tab.run_button.isEnabled() and tab.stop_button.isEnabled()
    assert not tab.form.editor("members").isEnabled()
    assert not training.panel.train_button.isEnabled() and training.panel.message.text() == ENSEMBLE_BUSY
    assert not training.start() and not window.lr_finder.start()
    assert window.lr_finder.message.text() == ENSEMBLE_BUSY
    qtbot.waitUntil(lambda: bool(seen), timeout=RUN_TIMEOUT_MS)
    r = build(qtbot, tab, start=lambda: qtbot.keyClick(window, Qt.Key_Escape)).result
    assert r.status == "stopped" and "stopped" in tab.message.text() and tab.message.property("kind") == "warn"
    assert training.panel.train_button.isEnabled() and tab.run_button.isEnabled()

    assert training.start()  # and the other way round: no ensemble while training runs
    assert not tab.run_button.isEnabled() and not tab.start() and tab.message.text() == TRAINING_BUSY
    with qtbot.waitSignal(training.run_finished, timeout=RUN_TIMEOUT_MS):
        training.stop()
    assert tab.run_button.isEnabled() and tab.message.text() != TRAINING_BUSY


@pytest.mark.slow
def test_close_while_building_asks_and_stops_it(qtbot, window: MainWindow, monkeypatch) -> None:
    tab = window.ensembles
    window.training.form.set_config(RunConfig().replace(**{**BASE, "train.epochs": 200, "train.batch_size": 16}))
    settle(tab, method="bagging", members=2)
    seen = progress_events(tab)
    assert tab.start()
    qtbot.waitUntil(lambda: bool(seen), timeout=RUN_TIMEOUT_MS)
    outcome = close_while_running(qtbot, window, tab, monkeypatch)
    assert not tab.running and outcome.result.status == "stopped"


@pytest.mark.slow
def test_bad_trial_id_is_one_line_and_the_window_survives(qtbot, window: MainWindow) -> None:
    tab = window.ensembles
    settle(tab, trials="1, 999")
    qtbot.waitUntil(lambda: tab.candidates.status.property("kind") == "warn", timeout=5000)
    assert "999" in tab.candidates.status.text()
    outcome = build(qtbot, tab)
    line = tab.message.text()
    assert outcome.result is None and "999" in line and "\n" not in line and "Traceback" not in line
    assert tab.message.property("kind") == "error" and tab.run_button.isEnabled()
    settle(tab, trials="1, 2")
    assert build(qtbot, tab).result.status == "completed"


# ---- the window's wiring ---------------------------------------------------------------------------
@pytest.mark.slow
def test_history_selection_and_the_ensemble_intervention(qtbot, window: MainWindow) -> None:
    tab, history = window.ensembles, window.history
    window.tabs.setCurrentWidget(history)
    qtbot.waitUntil(lambda: history.model.rowCount() == 3, timeout=5000)
    history.select_ids([3, 1])
    window.tabs.setCurrentWidget(tab)
    qtbot.mouseClick(tab.candidates.use_button, Qt.LeftButton)
    assert tab.form.editor("trials").raw() == "3, 1" and tab.form.settings().trial_ids() == (3, 1)
    assert "#3, #1" in tab.message.text()
    history.select_ids([2])
    assert not tab.use_history_selection() and "at least two" in tab.message.text()
    window.tabs.setCurrentWidget(history)
    history.actions.tab_requested.emit("ensembles", "Try an ensemble: combine trained trials")
    assert window.tabs.currentWidget() is tab
    assert tab.message.text() == "Try an ensemble: combine trained trials"
