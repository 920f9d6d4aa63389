"""Results users can trust: one divergence rule for the guard and the diagnosis, the numbers shown next to a
trial describe the weights that were kept, and a failed trial says why it failed instead of a diagnosis."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest
import synthetic_curves as sc
from test_cli import last_json, tunelab
from test_loop import blobs, cfg_for

from app.history.columns import COLUMN_INDEX, COLUMNS, METRIC_NAMES
from app.history.trial_text import headline
from trainers.api import TrialStore, diagnose, diagnose_trial, run_training
from trainers.cli.diagnose import report
from trainers.diagnosis.divergence import EXPLODE_FACTOR, chance_loss, loss_exploded
from trainers.spec.config import RunConfig
from trainers.spec.events import FitEnded, ListSink
from trainers.training.batch_step import EvalResult
from trainers.training.loop import Callback, Learner
from trainers.trials.ranked_rows import history_rows, render_table

DIGITS = RunConfig().replace(**{"data.source": "digits"})


@pytest.fixture
def store(tmp_path: Path):
    with TrialStore(str(tmp_path / "t.db")) as s:
        yield s


# ---- 1. one divergence rule ------------------------------------------------------------------------
def test_the_rule_spares_every_healthy_curve_and_catches_the_explosion() -> None:
    healthy = [
        make(seed)
        for make in (sc.good_fit, sc.overfit, sc.oscillating, sc.early_rise, sc.slow, sc.stalled, sc.noisy_val)
        for seed in range(5)
    ]
    for records in healthy:
        for r in records:
            assert not loss_exploded(r["train_loss"], 10) and not loss_exploded(r["val_loss"], 10)
    assert any(loss_exploded(r["train_loss"], 10) for r in sc.exploding(0))
    assert loss_exploded(math.nan, 10) and loss_exploded(math.inf, None)
    assert chance_loss(10) == pytest.approx(math.log(10)) and chance_loss(1) is None and chance_loss(None) is None
    assert not loss_exploded(EXPLODE_FACTOR * math.log(3) * 0.99, 3) and loss_exploded(
        EXPLODE_FACTOR * math.log(3) * 1.01, 3
    )


def test_a_finite_explosion_ends_the_run_diverged_and_the_diagnosis_agrees(store: TrialStore) -> None:
    cfg = cfg_for(**{"optim.name": "adam", "optim.lr": 100.0, "train.epochs": 2})
    result = run_training(cfg, store=store, bundle=blobs())
    trial = store.get_trial(result.trial_id)
    assert result.status == "diverged" and trial.status == "diverged", result.message
    assert "chance-level loss" in result.message and "ln 3" in result.message
    assert trial.extra["num_classes"] == 3 and trial.diagnosis == "diverged"
    assert diagnose_trial(store, result.trial_id).label == "diverged"


def test_a_sane_run_on_the_same_data_completes(store: TrialStore) -> None:
    result = run_training(cfg_for(**{"optim.lr": 1e-3}), store=store, bundle=blobs())
    assert result.status == "completed" and store.get_trial(result.trial_id).extra["num_classes"] == 3


def test_a_stored_trial_is_judged_against_its_own_class_count(store: TrialStore) -> None:
    """A loss of 15 is 13x ln 3 but only 6.5x ln 10: a 3-class run blew up, whatever its config's source says."""
    epochs = [
        dict(epoch=i, train_loss=v, val_loss=v, train_acc=0.5, val_acc=0.5)
        for i, v in enumerate([1.0, 0.9, 15.0, 1.1], 1)
    ]
    tid = store.create_trial("train", DIGITS.to_dict(), extra={"num_classes": 3})
    for e in epochs:
        store.add_epoch(
            tid, e["epoch"], **{k: v for k, v in e.items() if k != "epoch"}, lr=0.1, seconds=1.0, samples_per_sec=1.0
        )
    store.finish_trial(tid, "completed")
    assert diagnose(epochs, DIGITS).label != "diverged"
    assert diagnose_trial(store, tid).label == "diverged"


@pytest.mark.slow
def test_cli_run_at_learning_rate_100_exits_3_as_diverged(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    run = tunelab("train", "--dataset", "digits", "--lr", "100", "--epochs", "2", "--quiet", "--store", db)
    assert run.returncode == 3, (run.stdout, run.stderr)
    assert last_json(run.stdout)["status"] == "diverged"


# ---- 2. the numbers next to a trial are those of the kept weights ----------------------------------
class Scripted(Callback):
    """Replaces each epoch's validation result before the tracker reads it: best loss at epoch 2, peak accuracy
    at epoch 3."""

    order = 5
    SCRIPT = {1: (1.0, 0.5), 2: (0.5, 0.6), 3: (0.7, 0.9)}

    def after_epoch(self, learner: Learner) -> None:
        loss, acc = self.SCRIPT[learner.epoch]
        learner.val = EvalResult(loss, acc, 100)


def test_best_val_numbers_are_the_kept_epochs_and_the_peak_is_labelled(store: TrialStore) -> None:
    sink = ListSink()
    result = run_training(cfg_for(), sink=sink, store=store, bundle=blobs(), extra_callbacks=[Scripted()])
    assert (result.best_epoch, result.best_val_acc, result.best_val_loss) == (2, 0.6, 0.5)
    assert result.peak_val_acc == 0.9 and '"peak_val_acc": 0.9' in result.to_json()
    trial = store.get_trial(result.trial_id)
    assert (trial.best_epoch, trial.best_val_acc, trial.best_val_loss) == (2, 0.6, 0.5)
    assert trial.extra["peak_val_acc"] == 0.9
    row = history_rows(store)[0]
    assert (row["best_val_acc"], row["best_val_loss"]) == (0.6, 0.5)
    text = headline(trial)
    assert "validation accuracy 0.6000 at epoch 2" in text and "peak 0.9000" in text
    header = COLUMNS[COLUMN_INDEX["best_val_acc"]]
    assert "kept" in header.tip and "best validation" not in METRIC_NAMES["val_acc"]


def test_a_store_of_the_previous_version_is_brought_to_the_kept_numbers(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with TrialStore(str(db)) as s:
        tid = s.create_trial("train", DIGITS.to_dict())
        for epoch, (loss, acc) in enumerate([(1.0, 0.5), (0.5, 0.6), (0.7, 0.9)], 1):
            # the previous version wrote the running peak accuracy and lowest loss next to the best epoch
            s.add_epoch(
                tid,
                epoch,
                train_loss=loss,
                train_acc=acc,
                val_loss=loss,
                val_acc=acc,
                lr=0.1,
                seconds=1.0,
                samples_per_sec=1.0,
                best_val_acc=max(0.5, acc) if epoch < 3 else 0.9,
                best_val_loss=min(1.0, loss) if epoch < 3 else 0.5,
                best_epoch=2 if epoch > 1 else 1,
            )
        s.finish_trial(tid, "completed")
        other = s.create_trial("ensemble", DIGITS.to_dict())
        s.finish_trial(other, "completed", best_val_acc=0.97)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT best_val_acc FROM trials WHERE id = ?", (tid,)).fetchone()[0] == 0.9
    with TrialStore(str(db)) as s:
        trial = s.get_trial(tid)
        assert (trial.best_val_acc, trial.best_val_loss, trial.extra.get("peak_val_acc")) == (0.6, 0.5, 0.9)
        assert s.get_trial(other).best_val_acc == 0.97
    with TrialStore(str(db), read_only=True) as s:
        assert s.get_trial(tid).best_val_acc == 0.6


# ---- 5. a failed trial says why it failed -------------------------------------------------------------
def failed_trial(store: TrialStore) -> int:
    tid = store.create_trial("train", DIGITS.to_dict())
    store.finish_trial(tid, "failed", message="CSV row 3: 'abc' is not a number")
    return tid


def test_a_failed_trial_is_not_diagnosed_but_says_why(store: TrialStore) -> None:
    tid = failed_trial(store)
    d = diagnose_trial(store, tid)
    assert d.label == "failed" and "CSV row 3" in d.summary and d.interventions == ()
    assert "too noisy" not in d.title and "epochs" not in d.summary
    out = report(tid, d)
    assert out.startswith(f"trial {tid}: failed") and "CSV row 3" in out and "interventions" not in out
    assert diagnose([], DIGITS, status="failed", message="out of memory").summary.endswith("out of memory")


def test_history_shows_why_a_trial_failed(store: TrialStore) -> None:
    tid = failed_trial(store)
    row = history_rows(store)[0]
    assert row["id"] == tid and "CSV row 3" in row["diagnosis"]
    assert "CSV row 3" in render_table([row])
    cell = COLUMNS[COLUMN_INDEX["diagnosis"]].text(SimpleNamespace(trial=store.get_trial(tid)))
    assert "CSV row 3" in cell


def test_the_history_detail_pane_shows_the_failure(qtbot, store: TrialStore) -> None:
    from app.history.detail_pane import TrialDetail
    from app.history.trial_source import TrialSource

    tid = failed_trial(store)
    source = TrialSource(store.url)
    try:
        trial = source.trial(tid)
        pane = TrialDetail()
        qtbot.addWidget(pane)
        pane.show_trial(trial, [], source.diagnose(trial, []))
        assert "CSV row 3" in pane.diagnosis.headline.text() and "noisy" not in pane.diagnosis.headline.text()
        assert not pane.diagnosis.buttons
    finally:
        source.close()


def test_fit_ended_keeps_its_positional_fields() -> None:
    ended = FitEnded(1, "completed", 3, 2, 0.6, 0.5, 0.7, 0.4, 1.0)
    assert ended.peak_val_acc is None and ended.diverged_step is None
