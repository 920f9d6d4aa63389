"""What the history needs from the engine: a diagnosis stored with every run, re-runs with new seeds, export."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from trainers.api import TrialStore, export_trials, fill_diagnoses, rerun_with_seeds, run_training
from trainers.spec.config import RunConfig
from trainers.spec.errors import ConfigError, StoreError
from trainers.spec.events import ListSink, RunControl
from trainers.trials.ranked_rows import build_query, history_rows, parse_filter

FAST = {"train.epochs": 4, "train.threads": 1}


@pytest.fixture
def store(tmp_path: Path):
    with TrialStore(str(tmp_path / "t.db")) as s:
        yield s


@pytest.mark.slow
def test_every_finished_run_is_stored_with_its_diagnosis_label(store: TrialStore) -> None:
    good = run_training(RunConfig().replace(**FAST), store=store)
    blown = run_training(RunConfig().replace(**FAST, **{"optim.name": "sgd", "optim.lr": 5.0}), store=store)
    assert store.get_trial(good.trial_id).diagnosis == "good_fit"
    assert store.get_trial(blown.trial_id).diagnosis in ("diverged", "lr_too_high")


def test_older_trials_get_their_diagnosis_filled_in_once(store: TrialStore) -> None:
    tid = run_training(RunConfig().replace(**FAST), store=store).trial_id
    store.update_trial(tid, diagnosis=None)  # as stored by a version that kept no diagnosis
    lr_test = store.create_trial("lr_test", RunConfig().to_dict())
    assert fill_diagnoses(store, [tid, lr_test]) == {tid: "good_fit"}
    assert store.get_trial(tid).diagnosis == "good_fit" and store.get_trial(lr_test).diagnosis is None
    assert fill_diagnoses(store, [tid]) == {}  # already there: not computed again


@pytest.mark.slow
def test_rerun_with_seeds_uses_seeds_the_config_has_not_used(store: TrialStore) -> None:
    cfg = RunConfig().replace(**FAST, **{"train.seed": 1})
    first = run_training(cfg, store=store).trial_id
    sink = ListSink()
    results = rerun_with_seeds(store, [first, first], 2, sink=sink)
    assert [r.status for r in results] == ["completed", "completed"]
    seeds = [store.get_trial(r.trial_id).seed for r in results]
    assert seeds == [0, 2]  # 1 was taken by the original
    keys = {store.get_trial(i).config_key for i in (first, *(r.trial_id for r in results))}
    assert len(keys) == 1
    ranked = {r.trial.id: r for r in store.query_trials()}
    assert ranked[first].robust_n == 3 and ranked[first].robust_rank == 1
    assert ranked[first].robust_std is not None and ranked[first].robust_std >= 0


@pytest.mark.slow
def test_two_picked_trials_of_one_config_get_different_new_seeds(store: TrialStore) -> None:
    cfg = RunConfig().replace(**FAST)
    a = run_training(cfg, store=store).trial_id
    b = run_training(cfg.replace(**{"train.seed": 5}), store=store).trial_id
    results = rerun_with_seeds(store, [a, b], 2)
    assert sorted(store.get_trial(r.trial_id).seed for r in results) == [1, 2, 3, 4]


def test_failed_runs_get_no_diagnosis_filled_in(store: TrialStore) -> None:
    tid = store.create_trial("train", RunConfig().to_dict())
    store.finish_trial(tid, "failed", message="CSV row 3: not a number")
    assert fill_diagnoses(store, [tid]) == {} and store.get_trial(tid).diagnosis is None


def test_a_stop_ends_the_rerun_series_after_the_current_run(store: TrialStore) -> None:
    first = run_training(RunConfig().replace(**FAST), store=store).trial_id
    control = RunControl()
    control.stop()
    assert rerun_with_seeds(store, [first], 3, control=control) == []


def test_rerun_refuses_what_it_cannot_train(store: TrialStore) -> None:
    lr_test = store.create_trial("lr_test", RunConfig().to_dict())
    with pytest.raises(ConfigError, match="training trial"):
        rerun_with_seeds(store, [lr_test], 1)
    broken = store.create_trial("train", {"optim": {"lr": -1.0}})
    with pytest.raises(ConfigError, match=f"trial {broken}"):
        rerun_with_seeds(store, [broken], 1)


@pytest.mark.slow
def test_export_writes_the_chosen_trials_as_csv_and_json(store: TrialStore, tmp_path: Path) -> None:
    a = run_training(RunConfig().replace(**FAST), store=store).trial_id
    b = run_training(RunConfig().replace(**FAST, **{"optim.lr": 0.003}), store=store).trial_id
    store.set_notes(b, "higher rate, same result")
    rows = list(csv.DictReader(export_trials(store, [b, a], tmp_path / "t.csv").open()))
    assert [int(r["id"]) for r in rows] == [b, a]
    assert float(rows[0]["optim.lr"]) == 0.003 and rows[0]["notes"] == "higher rate, same result"
    assert rows[1]["diagnosis"] == "good_fit"
    data = json.loads((export_trials(store, [a], tmp_path / "t.json")).read_text())
    assert data[0]["id"] == a and len(data[0]["epochs"]) == 4 and data[0]["config"]["optim"]["lr"] == 0.001
    with pytest.raises(StoreError, match="select at least one"):
        export_trials(store, [], tmp_path / "none.csv")
    with pytest.raises(StoreError, match="cannot write"):
        export_trials(store, [a], tmp_path / "missing-folder" / "t.csv")


def test_history_filter_text_and_query(store: TrialStore) -> None:
    assert parse_filter("model=mlp,cnn status=completed wider kernels") == (
        (("model", "mlp"), ("model", "cnn"), ("status", "completed")),
        "wider kernels",
    )
    with pytest.raises(ConfigError, match="--filter"):
        parse_filter("colour=red")
    q = build_query("-lr", "model=mlp", "val_loss", kind="train")
    assert (q.sort, q.descending, q.metric) == ("lr", True, "val_loss")
    assert ("kind", "train") in q.filters and ("model", "mlp") in q.filters
    assert build_query(robust=True).sort == "robust"
    worst_first = build_query("-rank", robust=True)
    assert (worst_first.sort, worst_first.descending) == ("robust", True)
    run_training(RunConfig().replace(**FAST), store=store)
    rows = history_rows(store, build_query())
    assert rows[0]["rank"] == 1 and rows[0]["diagnosis"] == "good_fit"
