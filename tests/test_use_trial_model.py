"""A stored trial's model loaded back: the same weights, data and predictions the run scored its test split with."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from trainers.api import TrialStore, run_training
from trainers.spec.config import RunConfig
from trainers.spec.errors import ConfigError, StoreError
from trainers.use.trial_model import load_trial_model, probabilities, split_of, trial_bundle

TINY = RunConfig().replace(
    **{"train.epochs": 1, "train.threads": 1, "model.hidden_layers": 1, "model.hidden_units": 16}
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, int]:
    url = str(tmp_path_factory.mktemp("use") / "trials.db")
    with TrialStore(url) as store:
        result = run_training(TINY, store=store)
    assert result.status == "completed", result.message
    return url, result.trial_id


def test_loaded_model_reproduces_the_stored_test_accuracy(trained: tuple[str, int]) -> None:
    url, trial_id = trained
    with TrialStore(url) as store:
        loaded = load_trial_model(store, trial_id)
        bundle = trial_bundle(store, trial_id)
        stored = store.get_trial(trial_id)
    assert not loaded.model.training
    assert loaded.class_names == tuple(str(i) for i in range(10)) and loaded.num_classes == 10
    assert loaded.input_shape == tuple(bundle.input_shape)
    assert loaded.checkpoint.name == "best.pt"
    test = split_of(bundle, "test")
    probs = probabilities(loaded, test, batch_size=37)
    assert probs.dtype == np.float64 and probs.shape == (len(test), 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)
    assert test.y is not None
    acc = float((probs.argmax(axis=1) == test.y.numpy()).mean())
    assert acc == pytest.approx(stored.test_acc, abs=1e-9)


def test_probabilities_of_a_tensor_match_those_of_its_split(trained: tuple[str, int]) -> None:
    url, trial_id = trained
    with TrialStore(url) as store:
        loaded = load_trial_model(store, trial_id)
        val = trial_bundle(store, trial_id).val
    assert val.x is not None
    a = probabilities(loaded.model, val.x[:50], batch_size=8)
    b = probabilities(loaded, val)[:50]
    np.testing.assert_allclose(a, b, atol=1e-12)
    assert torch.is_grad_enabled()  # probabilities ran without gradients and left the caller's mode as it was


def test_the_last_weights_serve_when_the_best_are_gone(trained: tuple[str, int], tmp_path: Path) -> None:
    url, trial_id = trained
    with TrialStore(url) as store:
        best = Path(store.get_trial(trial_id).checkpoint_best or "")
        moved = tmp_path / "best.pt"
        best.rename(moved)
        try:
            assert load_trial_model(store, trial_id).checkpoint.name == "last.pt"
        finally:
            moved.rename(best)


def test_refusals_name_the_trial_or_split(trained: tuple[str, int], tmp_path: Path) -> None:
    url, trial_id = trained
    with TrialStore(url) as store:
        with pytest.raises(StoreError, match="no trial|999"):
            load_trial_model(store, 999)
        bundle = trial_bundle(store, trial_id)
    with pytest.raises(ConfigError, match="split"):
        split_of(bundle, "holdout")
    with TrialStore(str(tmp_path / "n.db")) as store:
        tid = run_training(TINY.replace(**{"train.checkpoints": False}), store=store).trial_id
        with pytest.raises(StoreError, match=f"trial {tid} has no saved weights"):
            load_trial_model(store, tid)
