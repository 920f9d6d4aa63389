"""Run diagnosis: each label on synthetic curves with a known answer, the interventions' configs, and real
short runs on digits whose answer is known from how they were set up."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import synthetic_curves as sc

from trainers.api import TrialStore, diagnose, diagnose_trial, run_training
from trainers.diagnosis.diagnose import LABELS, TITLES, Diagnosis, diagnosis_label
from trainers.spec.config import RunConfig
from trainers.spec.errors import StoreError
from trainers.store import EpochRecord

SEEDS = range(5)
DIGITS = RunConfig()  # digits: chance level ln 10
NARROW = DIGITS.replace(**{"model.hidden_units": 32})


def labels(make, cfg: RunConfig = DIGITS, **kw) -> set[str]:
    return {diagnose(make(seed, **kw), cfg).label for seed in SEEDS}


def keys(d: Diagnosis) -> list[str]:
    return [i.key for i in d.interventions]


# ---- synthetic curves, one label each --------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "make, label",
    [
        (sc.good_fit, "good_fit"),
        (sc.overfit, "overfitting"),
        (sc.oscillating, "lr_too_high"),
        (sc.early_rise, "lr_too_high"),
        (sc.slow, "underfitting"),
        (sc.stalled, "underfitting"),
        (sc.noisy_val, "too_noisy"),
        (sc.exploding, "diverged"),
    ],
)
def test_each_label_on_curves_with_a_known_answer(make, label: str) -> None:
    # a plateau is blamed on capacity in a model narrower than the defaults
    cfg = NARROW if make is sc.stalled else DIGITS
    assert labels(make, cfg) == {label}


@pytest.mark.parametrize("onset", [8, 15, 25])
def test_overfitting_onset_is_found_within_two_epochs(onset: int) -> None:
    for seed in SEEDS:
        d = diagnose(sc.overfit(seed, onset=onset), DIGITS)
        assert d.label == "overfitting" and abs(d.onset_epoch - onset) <= 2, (seed, d.onset_epoch)
        ev = {e.name: e.value for e in d.evidence}
        assert ev["onset_epoch"] == d.onset_epoch and ev["val_rise"] > 0.02 and ev["train_fall"] > 0.2


def test_overfitting_interventions_follow_the_method() -> None:
    cfg = DIGITS.replace(**{"data.train_fraction": 0.1, "model.dropout": 0.0, "optim.weight_decay": 0.0})
    d = diagnose(sc.overfit(0), cfg)
    assert keys(d) == ["more_data", "dropout", "early_stopping", "weight_decay", "ensemble"]
    changes = [i.changes for i in d.interventions]
    assert changes[0] == {"data.train_fraction": 0.2} and changes[1] == {"model.dropout": 0.3}
    assert changes[2]["early_stop.enabled"] is True and changes[3]["optim.weight_decay"] > 0
    assert changes[4] == {}
    assert str(d.onset_epoch) in d.interventions[2].why  # early stopping says where the best epoch was
    full = diagnose(sc.overfit(0), cfg.replace(**{"data.train_fraction": 1.0}))
    assert "more_data" not in keys(full)  # nothing more to take


def test_too_high_and_too_low_learning_rates_say_which_way_to_move_it() -> None:
    high = diagnose(sc.oscillating(0), DIGITS)
    assert keys(high)[:2] == ["lr_finder", "lower_lr"] and high.interventions[1].changes["optim.lr"] < 1e-3
    assert "oscillation" in [e.name for e in high.evidence]
    early = diagnose(sc.early_rise(0), DIGITS)
    assert "early_rise" in [e.name for e in early.evidence] and "warmup" in keys(early)
    low = diagnose(sc.slow(0), DIGITS)
    assert low.title == "learning rate too low or underfitting"
    assert keys(low)[:2] == ["lr_finder", "higher_lr"]
    assert low.interventions[1].changes == {"optim.lr": pytest.approx(1e-2)}  # 0.1%/epoch: ten times, not three
    capped = diagnose(sc.slow(0), DIGITS.replace(**{"optim.lr": 50.0}))
    assert capped.interventions[1].changes == {"optim.lr": 100.0}  # the field's upper limit
    flat = diagnose(sc.stalled(0), NARROW)  # levelled off at a sound rate in a model narrower than the defaults
    assert flat.cause == "capacity" and keys(flat)[:2] == ["bigger_model", "less_regularisation"]
    assert flat.interventions[0].changes == {"model.hidden_units": 256}  # at least the default width
    wide = diagnose(sc.stalled(0), DIGITS)  # as wide as the defaults: levelled off where the data allows
    assert wide.label == "good_fit" and keys(wide) == ["ensemble", "bigger_model"]


def test_diverged_from_status_nan_or_explosion() -> None:
    clean = sc.good_fit(0)
    d = diagnose(clean[:2], DIGITS, status="diverged", diverged_step=31)
    assert d.label == "diverged" and (d.evidence[0].name, d.evidence[0].value) == ("diverged_step", 31)
    nan = [dict(r) for r in clean]
    nan[6]["train_loss"] = float("nan")
    d = diagnose(nan, DIGITS)
    assert d.label == "diverged" and d.evidence[0].value == 7 and "epoch 7" in d.evidence[0].text
    stored_nan = [dict(r) for r in clean]
    stored_nan[9]["val_loss"] = None  # the store keeps a NaN as NULL
    assert diagnose(stored_nan, DIGITS).label == "diverged"
    blown = diagnose(sc.exploding(0), DIGITS)
    assert blown.evidence[0].name == "max_loss" and blown.evidence[0].value > 10 * sc.CHANCE
    assert keys(blown)[:3] == ["lr_finder", "lower_lr", "grad_clip"]
    assert blown.interventions[1].changes == {"optim.lr": pytest.approx(1e-4)}


def test_too_few_epochs_or_no_validation_is_too_noisy_to_tell() -> None:
    for n in (0, 1, 2):
        d = diagnose(sc.good_fit(0)[:n], DIGITS)
        assert d.label == "too_noisy" and d.title == "too noisy to tell" and d.evidence[0].value == n
    assert diagnose(sc.good_fit(0)[:3], DIGITS).label != "too_noisy"
    no_val = sc.records([2.0 * 0.8**i for i in range(15)], None)
    assert diagnose(no_val, DIGITS).label == "too_noisy"


def test_missing_and_nan_accuracies_and_missing_keys_do_not_matter() -> None:
    rows = [{"train_loss": r["train_loss"], "val_loss": r["val_loss"]} for r in sc.good_fit(1)]
    assert diagnose(rows, DIGITS).label == "good_fit"
    with_nan = [{**r, "train_acc": float("nan"), "val_acc": None} for r in sc.overfit(1)]
    d = diagnose(with_nan, DIGITS)
    assert d.label == "overfitting" and "acc_gap" not in [e.name for e in d.evidence]


def test_objects_and_dicts_give_the_same_diagnosis() -> None:
    dicts = sc.overfit(2)
    objects = [EpochRecord(trial_id=1, lr=1e-3, seconds=0.1, samples_per_sec=1.0, **r) for r in dicts]
    assert diagnose(objects, DIGITS) == diagnose(dicts, DIGITS)
    assert diagnose(dicts, DIGITS.to_dict()) == diagnose(dicts, DIGITS)  # a stored config dict


def test_without_the_class_count_the_first_loss_is_the_scale() -> None:
    csv_like = {**DIGITS.to_dict(), "data": {**DIGITS.to_dict()["data"], "source": "csv", "path": "/gone.csv"}}
    d = diagnose(sc.slow(0), csv_like)  # the file is gone: the curves are still read, config changes are not offered
    assert d.label == "underfitting" and "first epoch" in d.evidence[0].text
    assert {i.key for i in d.interventions} <= {"lr_finder", "ensemble"}
    assert diagnose(sc.slow(0), None, num_classes=10).label == "underfitting"


EDGE_CONFIGS = [
    {},
    {"model.dropout": 0.95, "optim.weight_decay": 0.9, "optim.lr": 100.0, "data.train_fraction": 1.0},
    {"train.epochs": 100_000, "train.batch_size": 1_000_000, "train.grad_clip": 0.5, "model.family": "cnn"},
    {
        "schedule.name": "one_cycle",
        "schedule.max_lr": 80.0,
        "optim.name": "sgd",
        "optim.lr": 1e-6,
        "early_stop.enabled": True,
        "model.dropout": 0.0,
        "optim.weight_decay": 0.0,
        "train.epochs": 2,
    },
    {"data.val_split": 0.3, "data.test_split": 0.55, "model.family": "resnet18", "schedule.warmup_epochs": 1.0},
]
CURVES = [
    sc.good_fit,
    sc.overfit,
    sc.oscillating,
    sc.early_rise,
    sc.slow,
    sc.stalled,
    sc.noisy_val,
    sc.exploding,
    lambda seed: sc.good_fit(seed)[:2],
]


@pytest.mark.parametrize("edge", EDGE_CONFIGS)
def test_every_intervention_gives_a_valid_new_config(edge: dict) -> None:
    cfg = RunConfig().replace(**edge)
    seen = set()
    for make in CURVES:
        d = diagnose(make(0), cfg)
        seen.add(d.label)
        assert d.label in LABELS and d.title == TITLES[d.label]
        assert len({i.key for i in d.interventions}) == len(d.interventions)
        for item in d.interventions:
            if item.key in ("lr_finder", "ensemble"):
                assert item.changes == {}
                continue
            new = item.apply(cfg)  # raises ConfigError if any value is out of range
            assert new.to_dict() != cfg.to_dict(), item
            assert new == cfg.replace(**item.changes)
            assert 0 <= new.model.dropout < 1 and 0 < new.optim.lr <= 100 and new.data.train_fraction <= 1
            assert new.model.dropout >= cfg.model.dropout or item.key == "less_regularisation"
        json.dumps(d.to_dict(), allow_nan=False)
    assert seen == set(LABELS)


# ---- real short runs on digits -------------------------------------------------------------------

RUNS = {
    "overfit": {"data.train_fraction": 0.1, "model.dropout": 0.0, "optim.weight_decay": 0.0, "train.epochs": 60},
    "lr_5_sgd": {"optim.name": "sgd", "optim.lr": 5.0},
    "lr_1e-6": {"optim.lr": 1e-6},
    "default": {},
}


@pytest.fixture(scope="module")
def digits_runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    db = str(tmp_path_factory.mktemp("diagnosis") / "t.db")
    out = {}
    with TrialStore(db) as store:
        for name, changes in RUNS.items():
            # One thread: these tiny batches only wait on each other with two, on a busy two-core machine.
            cfg = RunConfig().replace(**{"train.checkpoints": False, "train.threads": 1, **changes})
            result = run_training(cfg, store=store)
            out[name] = (result, diagnose_trial(store, result.trial_id))
    for name, (result, d) in out.items():  # the numbers behind each label, shown with -s or on failure
        print(name, result.status, d.label, d.summary, *(e.text for e in d.evidence), sep="\n  ", file=sys.stderr)
    return out


@pytest.mark.slow
def test_digits_large_mlp_on_a_tenth_of_the_data_overfits(digits_runs: dict) -> None:
    result, d = digits_runs["overfit"]
    assert d.label == "overfitting", d
    assert abs(d.onset_epoch - result.best_epoch) <= 2  # where validation loss was lowest
    assert 10 < d.onset_epoch < 60
    assert d.interventions[0].changes == {"data.train_fraction": 0.2}


def test_digits_sgd_at_learning_rate_5_diverges_or_is_too_high(digits_runs: dict) -> None:
    _, d = digits_runs["lr_5_sgd"]
    assert d.label in ("diverged", "lr_too_high"), d
    lower = {i.key: i for i in d.interventions}["lower_lr"]
    assert d.interventions[0].key == "lr_finder" and lower.changes["optim.lr"] <= 0.5


def test_digits_learning_rate_1e_6_underfits(digits_runs: dict) -> None:
    _, d = digits_runs["lr_1e-6"]
    assert d.label == "underfitting", d
    assert keys(d)[:2] == ["lr_finder", "higher_lr"] and d.interventions[1].changes["optim.lr"] > 1e-6


def test_digits_default_run_neither_overfits_nor_diverges(digits_runs: dict) -> None:
    result, d = digits_runs["default"]
    assert result.status == "completed" and d.label not in ("overfitting", "diverged"), d


def test_diagnose_trial_refuses_unknown_ids_and_range_tests(tmp_path: Path) -> None:
    with TrialStore(str(tmp_path / "t.db")) as store:
        with pytest.raises(StoreError, match="there is no trial 7 in the store"):
            diagnose_trial(store, 7)
        lr_test = store.create_trial("lr_test", {})
        with pytest.raises(StoreError, match="not a training run"):
            diagnose_trial(store, lr_test)
        running = store.create_trial("train", RunConfig().to_dict())
        assert diagnose_trial(store, running).label == "too_noisy"  # no epochs yet


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(
    "curve",
    [sc.good_fit, sc.overfit, sc.oscillating, sc.early_rise, sc.slow, sc.stalled, sc.noisy_val, sc.exploding],
)
@pytest.mark.parametrize("status", ["completed", "diverged", "early_stopped"])
def test_the_label_a_run_stores_is_the_full_diagnosis_label(curve: Any, seed: int, status: str) -> None:
    # every training run stores diagnosis_label as it ends; History and the CLI show diagnose()
    epochs = curve(seed)
    for cfg in (DIGITS, NARROW, DIGITS.replace(**{"optim.lr": 50.0, "early_stop.enabled": True})):
        stored = diagnosis_label(epochs, cfg, status, 40 if status == "diverged" else None, num_classes=10)
        assert stored == diagnose(epochs, cfg, status, 40 if status == "diverged" else None, num_classes=10).label
