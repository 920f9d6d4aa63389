"""The History tab as a person uses it: ranking, sorting, filtering, detail and compare, clone and Apply, delete,
export, notes, copy as TOML, re-runs with other seeds, live updates during a run, and lazy loading of big stores.

A store with a few real short digits runs is built once; each test works on its own copy of it."""

from __future__ import annotations

import csv
import json
import re
import tomllib
from pathlib import Path
from typing import Iterator

import pytest
from generated_trials import fill_store
from history_wait import settled
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtWidgets import QAbstractButton, QApplication, QFileDialog, QGroupBox, QLabel, QMessageBox
from synthetic_curves import overfit
from window_helpers import RERUN_BUSY, RUN_TIMEOUT_MS, close_while_running, window_on

from app.history import HistoryTab, history_tab, notes_editor
from app.history.columns import COLUMN_INDEX
from app.history.compare_pane import ComparePane
from app.history.trial_model import PAGE_SIZE, TRIAL_ROLE
from app.history.trial_text import config_toml
from app.jobs import warm_up_engine
from app.lr_finder import wording as lr_text
from app.main_window import MainWindow
from trainers.api import TrialStore, run_training
from trainers.jobs.setup import trial_summary
from trainers.spec.config import RunConfig
from trainers.spec.events import EpochEnded, FitStarted
from trainers.spec.lr_finder_settings import LrFinderSettings
from trainers.spec.rates import recommended_rate

BASE = {"train.epochs": 4, "train.threads": 1, "train.device": "cpu", "train.batch_size": 128}
RUNS = [  # real digits runs: (changes, notes)
    ({}, "baseline"),
    ({"optim.lr": 3e-3, "model.dropout": 0.3}, "more dropout"),
    ({"optim.lr": 1e-4}, "slow needle"),
    ({"optim.lr": 1e-2, "train.seed": 7}, ""),
]


def _insert(store: TrialStore, cfg: RunConfig, epochs: list[dict], status: str, kind: str = "train", **summary) -> int:
    """A trial written the way the engine writes one, without training (for curves with a known diagnosis)."""
    trial_id = store.create_trial(kind, cfg.to_dict(), **{**trial_summary(cfg), **summary})
    best = None
    for e in epochs:
        best = max(best or 0.0, e["val_acc"])
        store.add_epoch(
            trial_id,
            e["epoch"],
            train_loss=e["train_loss"],
            train_acc=e["train_acc"],
            val_loss=e["val_loss"],
            val_acc=e["val_acc"],
            lr=cfg.optim.lr,
            seconds=0.1,
            samples_per_sec=1e4,
            best_val_acc=best,
            best_val_loss=min(x["val_loss"] for x in epochs),
        )
    store.finish_trial(trial_id, status)  # no diagnosis stored: the tab fills it in
    return trial_id


@pytest.fixture(scope="module")
def built_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("history")
    with TrialStore(str(folder / "trials.db")) as store:
        for changes, notes in RUNS:
            r = run_training(RunConfig().replace(**{**BASE, **changes}), store=store)
            assert r.status == "completed"
            store.set_notes(r.trial_id, notes)
        cnn = RunConfig().replace(**{**BASE, "model.family": "cnn"})
        _insert(store, cnn, overfit(0, onset=8, n=20), "completed", dataset="mnist")  # 5
        _insert(
            store, RunConfig().replace(**{**BASE, "model.hidden_units": 64}), overfit(1, onset=6, n=12)[:5], "stopped"
        )  # 6
        _insert(store, RunConfig().replace(**{**BASE, "optim.name": "sgd"}), [], "completed", kind="lr_test")  # 7
    return folder


@pytest.fixture
def window(qtbot, store_url: str) -> Iterator[MainWindow]:
    with window_on(qtbot, store_url, "history") as w:
        settled(w.history)
        yield w


def column(tab: HistoryTab, key: str) -> list[str]:
    settled(tab)  # the store is read off the GUI thread
    m = tab.model
    return [m.data(m.index(row, COLUMN_INDEX[key])) for row in range(m.rowCount())]


def ids(tab: HistoryTab) -> list[int]:
    return [int(x) for x in column(tab, "id")]


def store_trials(url: str) -> dict:
    with TrialStore(url) as store:
        return {t.id: t for t in store.list_trials()}


def select(qtbot, tab: HistoryTab, trial_ids: list[int]) -> None:
    tab.select_ids(trial_ids)
    settled(tab)  # the selected trials' details are read off the GUI thread
    qtbot.waitUntil(lambda: tab.stack.currentWidget() is not tab.hint, timeout=30_000)


def click_header(qtbot, tab: HistoryTab, key: str) -> None:
    header = tab.table.horizontalHeader()
    section = COLUMN_INDEX[key]
    x = header.sectionViewportPosition(section) + header.sectionSize(section) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, header.height() // 2))
    settled(tab)


# ---- ranking, sorting, filtering ---------------------------------------------------------------
@pytest.mark.slow
def test_trials_are_ranked_by_validation_accuracy_then_by_loss(window: MainWindow, store_url: str) -> None:
    tab, trials = window.history, store_trials(store_url)
    assert tab.model.rowCount() == len(trials) == 7
    with_acc = sorted((t for t in trials.values() if t.best_val_acc is not None), key=lambda t: (-t.best_val_acc, t.id))
    assert ids(tab)[: len(with_acc)] == [t.id for t in with_acc]
    assert column(tab, "rank")[: len(with_acc)] == [str(i) for i in range(1, len(with_acc) + 1)]
    assert column(tab, "rank")[-1] == ""  # the range test has no accuracy: unranked, last
    tab.filters.rank_by.setCurrentIndex(tab.filters.rank_by.findData("val_loss"))
    by_loss = sorted((t for t in trials.values() if t.best_val_loss is not None), key=lambda t: t.best_val_loss)
    assert ids(tab)[: len(by_loss)] == [t.id for t in by_loss]
    assert column(tab, "rank")[: len(by_loss)] == [str(i) for i in range(1, len(by_loss) + 1)]


def test_header_click_sorts_in_the_store_and_again_reverses(qtbot, window: MainWindow) -> None:
    tab = window.history
    click_header(qtbot, tab, "lr")
    assert tab.model.parts.sort == "lr" and not tab.model.parts.descending
    lrs = [float(x) for x in column(tab, "lr")]
    assert lrs == sorted(lrs) and lrs[0] < lrs[-1]
    click_header(qtbot, tab, "lr")
    assert tab.model.parts.descending
    assert [float(x) for x in column(tab, "lr")] == sorted(lrs, reverse=True)
    click_header(qtbot, tab, "id")
    assert ids(tab) == sorted(ids(tab))
    click_header(qtbot, tab, "rank")
    assert column(tab, "rank")[:3] == ["1", "2", "3"]


@pytest.mark.slow
def test_each_filter_and_free_text(qtbot, window: MainWindow) -> None:
    tab, bar = window.history, window.history.filters
    assert bar.combos["status"].findData("stopped") > 0 and bar.combos["kind"].findData("lr_test") > 0
    bar.choose("status", "stopped")
    assert ids(tab) == [6] and column(tab, "status") == ["stopped"]
    bar.choose("status", None)
    bar.choose("kind", "lr_test")
    assert ids(tab) == [7]
    bar.choose("kind", None)
    bar.choose("dataset", "mnist")
    assert ids(tab) == [5]
    bar.choose("dataset", None)
    bar.choose("model", "mlp")
    assert 5 not in ids(tab) and len(ids(tab)) == 6
    bar.choose("model", None)
    qtbot.keyClicks(bar.search, "needle")
    qtbot.waitUntil(lambda: ids(tab) == [3], timeout=3000)  # debounced, then one query
    bar.search.clear()
    qtbot.keyClicks(bar.search, "model=cnn")
    qtbot.waitUntil(lambda: ids(tab) == [5], timeout=3000)
    bar.search.clear()
    qtbot.waitUntil(lambda: tab.model.rowCount() == 7, timeout=3000)


def test_old_trials_get_their_diagnosis_in_the_table(qtbot, window: MainWindow, store_url: str) -> None:
    tab = window.history
    qtbot.waitUntil(lambda: "overfitting" in column(tab, "diagnosis"), timeout=30_000)
    assert store_trials(store_url)[5].diagnosis == "overfitting"  # kept in the store too


# ---- detail and compare --------------------------------------------------------------------------
@pytest.mark.slow
def test_one_trial_shows_config_curves_diagnosis_and_notes(qtbot, window: MainWindow) -> None:
    tab = window.history
    select(qtbot, tab, [5])
    assert tab.stack.currentWidget() is tab.detail
    d = tab.detail
    assert "Trial 5" in d.headline.text() and "Overfitting" in d.diagnosis.headline.text()
    assert d.diagnosis.evidence.text().startswith("•")
    assert {"dropout", "weight_decay", "early_stopping", "ensemble"} <= set(d.diagnosis.buttons)
    assert RunConfig.from_dict(tomllib.loads(d.config_text.toPlainText())).train.epochs == 4
    assert len(d.curves.curves("loss")) == 2 and sorted(d.curves.legend_labels("loss")) == ["train", "validation"]
    assert len(d.curves.curves("loss")[0].getData()[0]) == 20


@pytest.mark.slow
def test_several_trials_are_compared_with_a_legend_and_a_scatter(qtbot, window: MainWindow) -> None:
    tab = window.history
    chosen = [1, 2, 3]
    select(qtbot, tab, chosen)
    assert tab.stack.currentWidget() is tab.compare
    pane: ComparePane = tab.compare
    for name in ("loss", "accuracy"):
        assert len(pane.curves.curves(name)) == 2 * len(chosen)  # training and validation per trial
        assert sorted(pane.curves.legend_labels(name)) == [f"#{i}" for i in chosen]  # one entry per trial
        drawn = pane.curves.drawn[name]
        assert sorted((label, split) for label, split, _c in drawn) == sorted(
            (f"#{i}", split) for i in chosen for split in ("train", "val")
        )
        for _label, split, curve in drawn:
            assert curve.opts["pen"].style() == (Qt.PenStyle.DashLine if split == "train" else Qt.PenStyle.SolidLine)
            assert len(curve.getData()[0]) == 4  # four epochs each
    colours = {
        label: {c.opts["pen"].color().getRgb() for lb, _s, c in pane.curves.drawn["loss"] if lb == label}
        for label, _s, _c in pane.curves.drawn["loss"]
    }
    assert all(len(c) == 1 for c in colours.values())  # a trial's two curves share its colour
    assert len({next(iter(c)) for c in colours.values()}) == len(chosen)  # and each trial has its own
    assert pane.scatter.parameter == "lr" and pane.scatter.plot.getPlotItem().ctrl.logXCheck.isChecked()
    assert pane.scatter.point_count() == len(chosen) == len(pane.scatter.labels)
    pane.scatter.chooser.setCurrentIndex(pane.scatter.chooser.findData("dropout"))
    assert pane.scatter.point_count() == len(chosen)
    tab.filters.rank_by.setCurrentIndex(tab.filters.rank_by.findData("val_loss"))  # re-ranked: same selection
    settled(tab)
    assert sorted(pane.trial_ids) == chosen
    assert pane.scatter.plot.getPlotItem().getAxis("left").labelText == "validation loss of the kept epoch"


# ---- actions -------------------------------------------------------------------------------------
def test_clone_puts_the_trial_config_into_the_training_form(qtbot, window: MainWindow, store_url: str) -> None:
    tab = window.history
    select(qtbot, tab, [2])
    tab.actions.clone.trigger()
    assert window.tabs.currentWidget() is window.training
    cfg = window.training.form.config()
    assert cfg.to_dict() == store_trials(store_url)[2].config
    assert cfg.model.dropout == 0.3 and cfg.optim.lr == 3e-3
    assert "config from trial 2: ready to train" in window.training.panel.message.text()


def test_apply_changes_the_form_as_the_intervention_says(qtbot, window: MainWindow, store_url: str) -> None:
    tab = window.history
    select(qtbot, tab, [5])
    qtbot.mouseClick(tab.detail.diagnosis.buttons["dropout"], Qt.MouseButton.LeftButton)
    assert window.tabs.currentWidget() is window.training
    cfg = window.training.form.config()
    before = RunConfig.from_dict(store_trials(store_url)[5].config)
    assert before.model.dropout == 0.1 and cfg.model.dropout == 0.3
    assert cfg.to_dict() == before.replace(**{"model.dropout": 0.3}).to_dict()
    assert window.training.panel.message.text() == "config from trial 5 with more dropout: ready to train"
    assert window.windowTitle().endswith("untitled")
    window.tabs.setCurrentWidget(tab)
    select(qtbot, tab, [3])  # learning rate 1e-4 for four epochs: underfitting
    assert "Learning rate too low" in tab.detail.diagnosis.headline.text()
    qtbot.mouseClick(tab.detail.diagnosis.buttons["higher_lr"], Qt.MouseButton.LeftButton)
    assert window.training.form.config().optim.lr == pytest.approx(3e-4)
    window.tabs.setCurrentWidget(tab)
    finder = window.lr_finder
    with qtbot.waitSignal(finder.rate_applied, timeout=RUN_TIMEOUT_MS):
        qtbot.mouseClick(tab.detail.diagnosis.buttons["lr_finder"], Qt.MouseButton.LeftButton)
        assert window.tabs.currentWidget() is finder and finder.running  # Apply runs the test in its tab
        assert finder.config_model.config().optim.lr == 1e-4  # on the trial's own config
    r = finder.last_outcome.result
    rate = lr_text.rounded_lr(recommended_rate(r))
    assert r.status == "completed" and window.training.form.config().optim.lr == rate
    trial3 = RunConfig.from_dict(store_trials(store_url)[3].config)
    assert window.training.form.config().to_dict() == trial3.replace(**{"optim.lr": rate}).to_dict()
    line = f"Learning rate set to {rate:g} from the LR finder (trial {r.trial_id}) for trial 3's config"
    assert finder.message.text() == line and window.statusBar().currentMessage() == line
    assert window.training.panel.message.text() == line  # the Training tab trains at it
    window.tabs.setCurrentWidget(tab)
    select(qtbot, tab, [5])
    qtbot.mouseClick(tab.detail.diagnosis.buttons["ensemble"], Qt.MouseButton.LeftButton)
    assert window.tabs.currentWidget() is window.ensembles


@pytest.mark.slow
def test_apply_lr_finder_sets_the_verified_rate_or_says_why_there_is_none(
    qtbot, window: MainWindow, store_url: str
) -> None:
    tab, finder = window.history, window.lr_finder
    finder.form.set_settings(LrFinderSettings().replace(iterations=30, verify=True))
    select(qtbot, tab, [3])
    with qtbot.waitSignal(finder.rate_applied, timeout=RUN_TIMEOUT_MS):
        qtbot.mouseClick(tab.detail.diagnosis.buttons["lr_finder"], Qt.MouseButton.LeftButton)
    r = finder.last_outcome.result
    assert r.verified is not None and r.verified.rate is not None, r.message
    assert window.training.form.config().optim.lr == lr_text.rounded_lr(r.verified.rate)  # the rate the runs chose
    assert finder.verify.isVisible() and finder.verify.table.rowCount() == len(r.verified.rows)

    window.training.form.set_config(RunConfig())  # something else in the form: Apply puts trial 3's back
    window.tabs.setCurrentWidget(tab)
    finder.form.set_settings(LrFinderSettings().replace(start_lr=1e-7, end_lr=2e-7, iterations=10))
    with qtbot.waitSignal(finder.rate_applied, timeout=RUN_TIMEOUT_MS):
        qtbot.mouseClick(tab.detail.diagnosis.buttons["lr_finder"], Qt.MouseButton.LeftButton)
    r = finder.last_outcome.result
    assert recommended_rate(r) is None  # a sweep that never leaves 1e-7 shows no descent
    assert window.training.form.config().optim.lr == 1e-4  # trial 3's own rate: nothing changed
    line = window.statusBar().currentMessage()
    assert line.startswith("The LR finder found no rate for trial 3 (") and "unchanged" in line
    assert r.message and r.message in line and finder.message.text() == line


def test_delete_asks_and_removes_rows_and_checkpoints(qtbot, window: MainWindow, store_url: str, monkeypatch) -> None:
    tab = window.history
    folder = Path(store_url.removeprefix("sqlite:///")).parent / "trials-checkpoints" / "1"
    assert any(folder.iterdir())  # the real run saved its weights
    asked: list[str] = []

    def answer(reply):
        return lambda _parent, _title, text, *a, **k: asked.append(text) or reply

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.No))
    select(qtbot, tab, [1])
    tab.table.setFocus()
    qtbot.keyClick(tab.table, Qt.Key.Key_Delete)
    assert asked and "trial 1" in asked[0]
    assert 1 in ids(tab) and folder.is_dir() and 1 in store_trials(store_url)
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    select(qtbot, tab, [1, 6])
    tab.actions.delete.trigger()
    assert "trials 1 and 6" in asked[-1] or "trials 6 and 1" in asked[-1]
    assert 1 not in ids(tab) and 6 not in ids(tab) and tab.model.rowCount() == 5
    assert not folder.exists() and {1, 6}.isdisjoint(store_trials(store_url))


def test_a_confirmation_line_clears_but_an_error_stays(qtbot, window: MainWindow) -> None:
    tab = window.history
    tab._clear_timer.setInterval(50)
    tab.show_message("Deleted trial 3", "ok")
    assert tab.message.text() == "Deleted trial 3"
    qtbot.waitUntil(lambda: tab.message.text() == "", timeout=3000)
    tab.show_message("Could not read the selected trials: gone", "error")
    qtbot.wait(200)
    assert tab.message.text() == "Could not read the selected trials: gone"


def test_diagnoses_read_as_words_in_the_table(window: MainWindow) -> None:
    tab = window.history
    shown = set(column(tab, "diagnosis"))
    assert shown and not any("_" in text for text in shown if not text.startswith("failed"))


def test_export_writes_the_selected_trials_as_csv_and_json(
    qtbot, window: MainWindow, tmp_path: Path, monkeypatch
) -> None:
    tab = window.history
    select(qtbot, tab, [2, 4])
    target = tmp_path / "out"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    tab.actions.export_csv.trigger()  # the reads run on the tab's reader thread: the line says when it is written
    assert tab.message.text().startswith("Exporting trials")
    qtbot.waitUntil(lambda: tab.message.text().startswith("Exported trials"), timeout=10_000)
    with open(tmp_path / "out.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(int(r["id"]) for r in rows) == [2, 4]
    assert {r["optim.lr"] for r in rows} == {"0.003", "0.01"}
    tab.actions.export_json.trigger()
    qtbot.waitUntil(
        lambda: tab.message.text().startswith("Exported") and "out.json" in tab.message.text(), timeout=10_000
    )
    data = json.loads((tmp_path / "out.json").read_text())
    assert sorted(d["id"] for d in data) == [2, 4] and all(len(d["epochs"]) == 4 for d in data)
    assert "Exported trials" in tab.message.text()


def test_notes_are_saved_to_the_store(qtbot, window: MainWindow, store_url: str) -> None:
    tab = window.history
    select(qtbot, tab, [4])
    notes = tab.detail.notes
    notes.edit.setFocus()
    qtbot.keyClicks(notes.edit, "try a cosine schedule")
    qtbot.mouseClick(notes.save_button, Qt.MouseButton.LeftButton)
    assert store_trials(store_url)[4].notes == "try a cosine schedule"
    assert column(tab, "notes")[ids(tab).index(4)] == "try a cosine schedule"
    qtbot.keyClicks(notes.edit, ", then wider")
    select(qtbot, tab, [3])  # moving on saves what was typed
    with TrialStore(store_url) as reopened:
        assert reopened.get_trial(4).notes == "try a cosine schedule, then wider"
    assert tab.detail.notes.edit.toPlainText() == "slow needle"


def test_ctrl_c_copies_the_config_as_toml(qtbot, window: MainWindow, store_url: str) -> None:
    tab = window.history
    select(qtbot, tab, [2])
    QApplication.clipboard().clear()
    tab.table.setFocus()
    qtbot.keyClick(tab.table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    text = QApplication.clipboard().text()
    assert RunConfig.from_dict(tomllib.loads(text)).to_dict() == store_trials(store_url)[2].config


def test_ctrl_s_saves_the_notes_in_the_notes_box_and_the_config_elsewhere(
    qtbot, window: MainWindow, store_url: str, monkeypatch
) -> None:
    monkeypatch.setattr(notes_editor, "SAVE_PAUSE_MS", 60_000)  # only Ctrl+S saves in this test
    dialogs: list[str] = []

    def save_dialog(_parent, title, *_args):
        dialogs.append(title)
        return "", ""  # cancelled

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_dialog)
    tab = window.history
    select(qtbot, tab, [4])
    window.activateWindow()
    qtbot.waitActive(window)
    notes = tab.detail.notes
    notes.edit.setFocus()
    qtbot.keyClicks(notes.edit, "saved with Ctrl+S")
    qtbot.keyClick(notes.edit, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert store_trials(store_url)[4].notes == "saved with Ctrl+S"
    assert notes.state.text() == "Saved" and notes.edit.toPlainText() == "saved with Ctrl+S"
    assert dialogs == []  # not File → Save config
    tab.table.setFocus()
    qtbot.keyClick(tab.table, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert dialogs == ["Save run config"]  # the window's Save config (no file yet: it asks where)


def _mnemonic(text: str) -> str | None:
    found = re.search(r"&([^&])", text.replace("&&", ""))
    return found.group(1).lower() if found else None


def test_history_mnemonics_are_unique_and_free_of_the_menu_bar(qtbot, window: MainWindow) -> None:
    tab = window.history
    select(qtbot, tab, [4])  # the detail, with the notes box, is built and shown
    texts = [b.text() for b in tab.findChildren(QAbstractButton) if b.isVisibleTo(tab)]
    texts += [g.title() for g in tab.findChildren(QGroupBox) if g.isVisibleTo(tab)]
    texts += [label.text() for label in tab.findChildren(QLabel) if label.buddy() is not None]
    keys = [k for k in map(_mnemonic, texts) if k]
    assert "n" in keys and len(keys) == len(set(keys)), texts
    menus = {_mnemonic(a.text()) for a in window.menuBar().actions()}
    assert menus == {"f", "r", "v", "h"}
    assert not menus & set(keys), texts


def window_on_store(qtbot, url: str) -> MainWindow:
    """A main window showing the History tab of the store at `url`, the engine imported, every dataset shown (it
    opens on the most recent trial's)."""
    w = MainWindow(store_url=url)
    qtbot.addWidget(w)
    w.show()
    warm_up_engine()
    w.tabs.setCurrentWidget(w.history)
    w.engine_ready()
    w.history.filters.choose("dataset", None)
    settled(w.history)
    return w


def test_clone_and_copy_read_only_the_trial_they_use(qtbot, tmp_path: Path, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path / 'many.db'}"
    with TrialStore(url) as store:
        fill_store(store, 600, with_epochs=0)
    w = window_on_store(qtbot, url)
    tab = w.history
    tab.table.selectAll()
    qtbot.waitUntil(lambda: tab.stack.currentWidget() is tab.compare, timeout=30_000)
    assert len(tab.selected_rows()) == 600
    reads: list[int] = []
    trial_at = tab.model.trial_at
    monkeypatch.setattr(tab.model, "trial_at", lambda row: (reads.append(row), trial_at(row))[1])
    QApplication.clipboard().clear()
    assert tab.actions.copy_selected()
    assert len(reads) == 1
    assert QApplication.clipboard().text() == config_toml(tab.selected_trials(limit=1)[0])
    reads.clear()
    assert tab.actions.clone_selected()
    assert len(reads) == 1 and w.tabs.currentWidget() is w.training


# ---- runs ----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_running_trial_shows_live_and_ends_ranked(qtbot, window: MainWindow, store_url: str, monkeypatch) -> None:
    monkeypatch.setattr(history_tab, "LIVE_REFRESH_MS", 100)  # digits epochs are quicker than a second
    tab, training = window.history, window.training
    training.form.set_config(
        RunConfig().replace(**{**BASE, "train.epochs": 10, "train.batch_size": 4, "optim.lr": 3e-4})
    )
    seen: list[tuple[str, str, str]] = []  # (status, best val acc, rank) of the new row after each refresh
    new_id: list[int] = []
    training.events_received.connect(lambda ev: new_id.extend(e.trial_id for e in ev if isinstance(e, FitStarted)))

    def watch() -> None:
        if new_id and new_id[0] in ids(tab):
            row = ids(tab).index(new_id[0])
            seen.append((column(tab, "status")[row], column(tab, "best_val_acc")[row], column(tab, "rank")[row]))
            if len(seen) == 1:  # once this refresh is over, select it: the selection follows it as it moves
                QTimer.singleShot(0, lambda: tab.select_ids(new_id))

    tab.model.loaded.connect(watch)
    with qtbot.waitSignal(training.run_finished, timeout=RUN_TIMEOUT_MS):
        training.start()
    # the refresh the run's end asks for reads the store off the GUI thread: its answer comes after run_finished
    qtbot.waitUntil(lambda: bool(seen) and seen[-1][0] == "completed", timeout=10_000)
    running = [s for s in seen if s[0] == "running"]
    assert running, seen  # the row was there while the run was in progress
    values = [float(v) for _s, v, _r in running if v]
    trial = store_trials(store_url)[new_id[0]]
    with TrialStore(store_url) as store:
        epoch_accs = {round(e.val_acc, 4) for e in store.epochs(trial.id) if e.val_acc is not None}
    # it changed live, and each value shown was the accuracy of an epoch the run had kept by then
    assert len(set(values)) >= 2 and set(values) <= epoch_accs, (values, epoch_accs)
    status, best, rank = seen[-1]
    assert status == "completed" and float(best) == pytest.approx(trial.best_val_acc, abs=1e-4)
    better = sum(
        1
        for t in store_trials(store_url).values()
        if t.best_val_acc is not None and t.best_val_acc > trial.best_val_acc
    )
    assert rank == str(better + 1)
    assert tab.selected_trials()[0].id == new_id[0]


@pytest.mark.slow
def test_live_diagnosis_appears_on_the_training_tab_after_three_epochs(qtbot, window: MainWindow) -> None:
    training = window.training
    window.tabs.setCurrentWidget(training)
    training.form.set_config(RunConfig().replace(**{**BASE, "train.epochs": 5}))
    seen: list[tuple[int, bool]] = []  # (epochs the run has reported so far, label visible) per batch

    def note(events: list) -> None:
        epochs = [e.epoch for e in events if isinstance(e, EpochEnded)]
        if epochs:  # the worker may deliver several epochs in one batch
            seen.append((max(epochs), training.diagnosis.isVisible()))

    training.events_received.connect(note)
    with qtbot.waitSignal(training.run_finished, timeout=RUN_TIMEOUT_MS):
        training.start()
    assert seen and all(visible == (epochs >= 3) for epochs, visible in seen), seen
    assert seen[-1] == (5, True)
    assert training.diagnosis.label in ("good_fit", "underfitting", "overfitting", "too_noisy", "lr_too_high")
    assert "Diagnosis" in training.diagnosis.text() and "after 5 epochs" in training.diagnosis.text()


@pytest.mark.slow
def test_rerun_with_two_seeds_adds_trials_and_a_robust_rank(
    qtbot, window: MainWindow, store_url: str, monkeypatch
) -> None:
    tab = window.history
    finished: list[int] = []
    job_finished = tab.job_finished
    monkeypatch.setattr(tab, "job_finished", lambda: (finished.append(1), job_finished())[1])
    select(qtbot, tab, [1])
    tab.rerun.seeds.setValue(2)
    blocked: list[tuple[bool, str, bool]] = []
    tab.run_started.connect(
        lambda: blocked.append(
            (
                window.training.panel.train_button.isEnabled(),
                window.training.panel.message.text(),
                window.lr_finder.run_button.isEnabled(),
            )
        )
    )
    with qtbot.waitSignal(tab.run_finished, timeout=RUN_TIMEOUT_MS) as done:
        qtbot.mouseClick(tab.rerun.button, Qt.MouseButton.LeftButton)
    assert blocked == [(False, RERUN_BUSY, False)]  # one job at a time
    assert len(finished) == 1  # the table refreshes once when the re-runs end
    results = done.args[0].result
    assert len(results) == 2 and all(r.status == "completed" for r in results)
    trials = store_trials(store_url)
    new = [trials[r.trial_id] for r in results]
    assert {t.seed for t in new} == {1, 2}  # seeds trial 1 (seed 0) had not used
    assert all(t.config_key == trials[1].config_key for t in new)
    assert window.training.panel.train_button.isEnabled()
    qtbot.waitUntil(lambda: tab.model.robust_known, timeout=30_000)  # filled just after the first rows
    row = ids(tab).index(1)
    robust = column(tab, "robust")[row]
    accs = [trials[i].best_val_acc for i in (1, *(t.id for t in new))]
    mean = sum(accs) / 3
    assert robust.startswith(f"rank 1 · {mean:.4f} ± ") and robust.endswith(" (3 seeds)")
    assert column(tab, "robust")[ids(tab).index(2)] == ""  # run once: no robust rank
    assert "Re-ran trial 1 with 2 new seeds" in tab.message.text()
    click_header(qtbot, tab, "robust")
    assert set(ids(tab)[:3]) == {1, *(t.id for t in new)}


@pytest.mark.slow
def test_closing_during_reruns_asks_and_stops_them(qtbot, window: MainWindow, store_url: str, monkeypatch) -> None:
    tab = window.history
    select(qtbot, tab, [1, 2])
    tab.rerun.seeds.setValue(5)
    started: list = []
    tab.events_received.connect(started.append)
    assert tab.rerun_selected()
    qtbot.waitUntil(lambda: bool(started), timeout=RUN_TIMEOUT_MS)
    results = close_while_running(qtbot, window, tab, monkeypatch).result
    assert len(results) < 10  # the series ended early
    assert store_trials(store_url)[results[-1].trial_id].status in ("stopped", "completed")


# ---- big stores ----------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_big_store_is_read_a_page_at_a_time(qtbot, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'big.db'}"
    with TrialStore(url) as store:
        fill_store(store, 5000)
    w = window_on_store(qtbot, url)
    tab = w.history
    qtbot.waitUntil(lambda: tab.model.is_cached(0), timeout=30_000)  # painted (a busy machine reads slowly)
    assert tab.model.rowCount() == 5000
    assert 0 < tab.source.rows_fetched <= 2 * PAGE_SIZE  # only what the view showed
    assert tab.model.data(tab.model.index(0, COLUMN_INDEX["rank"])) == "1"
    tab.table.scrollToBottom()
    qtbot.waitUntil(lambda: tab.model.is_cached(4999), timeout=30_000)
    assert tab.source.rows_fetched <= 4 * PAGE_SIZE
    last = tab.model.data(tab.model.index(4999, 0), TRIAL_ROLE)
    assert last.rank is None or last.rank >= 4000
    fetched = tab.source.rows_fetched
    click_header(qtbot, tab, "best_val_acc")  # sorting is a new query, not a pass over every row
    assert tab.source.rows_fetched - fetched <= 2 * PAGE_SIZE
    accs = [tab.model.trial_at(r).trial.best_val_acc for r in range(0, 50)]
    assert None not in accs and accs == sorted(accs)  # ascending, trials without a value last
