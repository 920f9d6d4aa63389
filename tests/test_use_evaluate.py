"""Evaluating stored trials on the real engine: a digits run (stored as it finishes), a CSV run whose mistakes
carry their rows as written, an ensemble, and `tunelab evaluate` in text and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from trainers.api import EnsembleSettings, TrialStore, evaluate_trial, open_evaluation, run_ensemble, run_training
from trainers.cli.main import main
from trainers.evaluation.evaluation import Evaluation
from trainers.evaluation.stored import stored_evaluation
from trainers.spec.config import RunConfig
from trainers.spec.errors import ConfigError, StoreError

TINY = RunConfig().replace(
    **{"train.epochs": 1, "train.threads": 1, "model.hidden_layers": 1, "model.hidden_units": 16}
)


@pytest.fixture(scope="module")
def digits_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[int]]:
    """Two tiny digits runs (seeds 0 and 1) and a soft-vote ensemble of them."""
    url = str(tmp_path_factory.mktemp("eval") / "trials.db")
    with TrialStore(url) as store:
        ids = [run_training(TINY.replace(**{"train.seed": s}), store=store).trial_id for s in (0, 1)]
        ens = run_ensemble(EnsembleSettings(method="soft-vote", trials=f"{ids[0]}, {ids[1]}"), store=store)
        assert ens.status == "completed", ens.message
    return url, [*ids, ens.trial_id]


def test_a_finished_run_stores_its_test_evaluation(digits_store: tuple[str, list[int]]) -> None:
    url, (first, _, _) = digits_store
    with TrialStore(url) as store:
        trial = store.get_trial(first)
    ev = stored_evaluation(trial, "test")
    assert ev is not None and ev.split == "test" and ev.kind == "train"
    assert ev.accuracy == pytest.approx(trial.test_acc, abs=1e-12)
    assert ev.samples == int(ev.confusion.sum()) == int(ev.per_class.support.sum())
    assert np.trace(ev.confusion) / ev.samples == pytest.approx(ev.accuracy)
    assert ev.class_names == tuple(str(i) for i in range(10))
    assert ev.inputs == "image"
    assert 0.0 <= ev.ece <= 1.0 and int(ev.reliability.counts.sum()) == ev.samples
    confidences = [m.confidence for m in ev.mistakes]
    assert confidences == sorted(confidences, reverse=True) and all(m.true != m.predicted for m in ev.mistakes)


def test_validation_split_and_ensemble_evaluations(digits_store: tuple[str, list[int]]) -> None:
    url, (first, _, ens) = digits_store
    with TrialStore(url) as store:
        val = evaluate_trial(store, first, "val")
        assert set(store.get_trial(first).extra["evaluation"]) == {"test", "val"}
        e = evaluate_trial(store, ens, "test")
        ens_trial = store.get_trial(ens)
        shown = open_evaluation(store, first, "test")
    assert val.source.endswith("best.pt")
    assert val.split == "val" and val.accuracy == pytest.approx(store_val_acc(url, first), abs=1e-12)
    assert e.kind == "ensemble" and e.source.endswith(".tlens")
    assert e.accuracy == pytest.approx(ens_trial.test_acc, abs=1e-12)
    assert stored_evaluation(ens_trial, "test") is not None
    assert not shown.computed and len(shown.images) == len(shown.evaluation.mistakes) > 0
    image = shown.images[0]
    assert image.dtype == np.uint8 and image.shape == (8, 8, 1) and image.max() == 255 and image.min() == 0


def store_val_acc(url: str, trial_id: int) -> float:
    """The validation accuracy of the epoch whose weights were kept (best.pt)."""
    with TrialStore(url) as store:
        trial = store.get_trial(trial_id)
        return next(e.val_acc for e in store.epochs(trial_id) if e.epoch == trial.best_epoch)


def test_csv_mistakes_carry_their_rows_as_written(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    lines = ["size,colour,label"]
    for i in range(120):
        colour = ["red", "green", "blue"][i % 3]
        label = "yes" if rng.random() < 0.5 else "no"  # labels unrelated to the features: many mistakes
        lines.append(f"{rng.normal():.3f},{colour},{label}")
    path = tmp_path / "table.csv"
    path.write_text("\n".join(lines) + "\n")
    cfg = TINY.replace(**{"data.source": "csv", "data.path": str(path)})
    with TrialStore(str(tmp_path / "t.db")) as store:
        trial_id = run_training(cfg, store=store).trial_id
        ev = evaluate_trial(store, trial_id, "test")
    assert ev.inputs == "table" and ev.columns == ("size", "colour", "label")
    assert ev.class_names == ("no", "yes") and ev.mistakes
    file_lines = path.read_text().splitlines()
    for m in ev.mistakes:
        assert m.line is not None and file_lines[m.line - 1].split(",") == list(m.row)
        assert m.row[2] == m.true != m.predicted


def test_refusals(digits_store: tuple[str, list[int]], tmp_path: Path) -> None:
    url, (first, _, _) = digits_store
    with TrialStore(url) as store:
        with pytest.raises(ConfigError, match="split"):
            evaluate_trial(store, first, "train")
        with pytest.raises(StoreError, match="999"):
            evaluate_trial(store, 999)


def test_cli_text_and_json(digits_store: tuple[str, list[int]], capsys: pytest.CaptureFixture[str]) -> None:
    url, (first, _, ens) = digits_store
    assert main(["evaluate", str(first), "--store", url]) == 0
    text = capsys.readouterr().out
    assert f"trial {first} (train) on the test split" in text
    for word in ("precision", "macro avg", "weighted avg", "expected calibration error", "confusion matrix"):
        assert word in text
    assert main(["evaluate", str(ens), "--split", "val", "--json", "--store", url]) == 0
    raw = json.loads(capsys.readouterr().out)
    back = Evaluation.from_dict(raw)
    assert back.kind == "ensemble" and back.split == "val" and len(back.per_class.f1) == 10
    assert main(["evaluate", "999", "--store", url]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tunelab: error:") and "999" in err and len(err.splitlines()) == 1
