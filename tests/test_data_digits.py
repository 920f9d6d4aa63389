"""The bundled digits source: sizes, stratification, seeding, train_fraction and train-only normalisation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trainers.data import DatasetBundle, load_dataset, num_batches
from trainers.data.digits import read_digits
from trainers.spec.config import DataConfig, RunConfig
from trainers.spec.shapes import planned_steps_per_epoch


def _labels(bundle: DatasetBundle) -> list[np.ndarray]:
    parts = [bundle.train, bundle.val] + ([bundle.test] if bundle.test is not None else [])
    return [p.y.numpy() for p in parts]


@pytest.fixture(scope="module")
def digits() -> DatasetBundle:
    return load_dataset(DataConfig(source="digits"))


def test_sizes_shape_and_classes(digits: DatasetBundle) -> None:
    assert sum(len(y) for y in _labels(digits)) == 1797
    assert digits.name == "digits"
    assert digits.input_shape == (1, 8, 8)
    assert digits.train.x.shape[1:] == (1, 8, 8)
    assert digits.train.x.dtype == torch.float32 and digits.train.y.dtype == torch.int64
    assert digits.num_classes == 10
    assert digits.class_names == [str(i) for i in range(10)]
    assert len(digits.val) == pytest.approx(0.15 * 1797, abs=10)
    assert digits.test is not None and len(digits.test) == pytest.approx(0.15 * 1797, abs=10)


def test_raw_pixels_scaled_to_unit_range() -> None:
    pixels, labels = read_digits()
    assert pixels.shape == (1797, 64) and pixels.min() == 0 and pixels.max() == 16
    bundle = load_dataset(DataConfig(source="digits", normalize=False))
    assert float(bundle.train.x.min()) == 0.0 and float(bundle.train.x.max()) == 1.0
    assert sorted(np.unique(labels).tolist()) == list(range(10))


def test_every_split_is_stratified(digits: DatasetBundle) -> None:
    _, labels = read_digits()
    overall = np.bincount(labels, minlength=10) / len(labels)
    for y in _labels(digits):
        share = np.bincount(y, minlength=10) / len(y)
        assert np.abs(share - overall).max() < 0.01


def test_same_seed_same_split_other_seed_differs() -> None:
    a = load_dataset(DataConfig(source="digits", split_seed=3))
    b = load_dataset(DataConfig(source="digits", split_seed=3))
    c = load_dataset(DataConfig(source="digits", split_seed=4))
    assert torch.equal(a.train.x, b.train.x) and torch.equal(a.val.y, b.val.y)
    assert not torch.equal(a.val.x, c.val.x)


def test_train_fraction_thins_only_the_training_split() -> None:
    full = load_dataset(DataConfig(source="digits"))
    tenth = load_dataset(DataConfig(source="digits", train_fraction=0.1))
    assert len(tenth.train) == pytest.approx(0.1 * len(full.train), abs=10)
    assert len(tenth.val) == len(full.val)
    assert sorted(torch.unique(tenth.train.y).tolist()) == list(range(10))


def test_normalised_with_training_statistics_only(digits: DatasetBundle) -> None:
    x = digits.train.x
    assert abs(float(x.mean())) < 1e-4
    assert float(x.std()) == pytest.approx(1.0, abs=1e-3)
    # validation statistics are not forced to 0/1: they come from the training mean/std
    raw = load_dataset(DataConfig(source="digits", normalize=False))
    mean, std = raw.train.x.mean(), raw.train.x.std()
    assert torch.allclose(digits.val.x, (raw.val.x - mean) / std, atol=1e-4)
    assert abs(float(digits.val.x.mean())) > 1e-4


def test_test_split_zero_gives_no_test() -> None:
    bundle = load_dataset(DataConfig(source="digits", test_split=0.0))
    assert bundle.test is None
    assert len(bundle.train) + len(bundle.val) == 1797


@pytest.mark.parametrize("batch_size", [1, 7, 64, 1256, 1000])
def test_planned_steps_match_the_loaded_split(batch_size: int) -> None:
    """The form's schedule preview counts steps before reading the data; the engine counts them after."""
    cfg = RunConfig().replace(**{"train.batch_size": batch_size})
    assert planned_steps_per_epoch(cfg) == (num_batches(load_dataset(cfg.data).train, batch_size), True)
