"""Batching and augmentation: coverage per epoch, reproducibility, and streamed splits matching in-memory ones."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from trainers.data import Split, augment_batch, iter_batches, num_batches
from trainers.data.common import split_indices
from trainers.data.torchvision_sets import ArrayImages, channel_stats
from trainers.spec.errors import DataError

CPU = torch.device("cpu")


def tagged_split(n: int = 103) -> Split:
    """Each sample's only feature is its own index, so batches show which samples they hold."""
    return Split(torch.arange(n, dtype=torch.float32)[:, None], torch.arange(n) % 4)


def _order(split: Split, batch: int, seed: int, shuffle: bool = True) -> list[int]:
    gen = torch.Generator().manual_seed(seed)
    return [
        int(v) for xb, _ in iter_batches(split, batch, shuffle=shuffle, gen=gen, device=CPU) for v in xb[:, 0].tolist()
    ]


def test_shuffled_epoch_covers_every_sample_once() -> None:
    split = tagged_split()
    order = _order(split, 10, seed=0)
    assert sorted(order) == list(range(103))
    assert order != list(range(103))
    assert _order(split, 10, seed=0, shuffle=False) == list(range(103))
    assert (
        num_batches(split, 10)
        == 11
        == len(list(iter_batches(split, 10, shuffle=True, gen=torch.Generator(), device=CPU)))
    )


def test_same_generator_seed_same_order() -> None:
    split = tagged_split()
    assert _order(split, 16, seed=5) == _order(split, 16, seed=5)
    assert _order(split, 16, seed=5) != _order(split, 16, seed=6)


def test_labels_stay_with_their_samples() -> None:
    split = tagged_split()
    gen = torch.Generator().manual_seed(1)
    for xb, yb in iter_batches(split, 7, shuffle=True, gen=gen, device=CPU):
        assert torch.equal(xb[:, 0].long() % 4, yb)


def test_flip_keeps_shape_and_mirrors() -> None:
    x = torch.rand(64, 3, 5, 7)
    out = augment_batch(x, flip=True, crop_padding=0, gen=torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    same = [bool(torch.equal(o, a)) for o, a in zip(out, x)]
    mirrored = [bool(torch.equal(o, a.flip(2))) for o, a in zip(out, x)]
    assert all(s or m for s, m in zip(same, mirrored))
    assert any(mirrored) and any(same)
    assert torch.equal(augment_batch(x, flip=False, crop_padding=0, gen=torch.Generator()), x)


def test_crop_keeps_shape_and_is_a_shifted_window() -> None:
    x = torch.rand(16, 2, 6, 6)
    p = 2
    out = augment_batch(x, flip=False, crop_padding=p, gen=torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    padded = torch.nn.functional.pad(x, (p, p, p, p))
    shifted = 0
    for i in range(16):
        windows = [
            (dy, dx)
            for dy in range(2 * p + 1)
            for dx in range(2 * p + 1)
            if torch.equal(out[i], padded[i, :, dy : dy + 6, dx : dx + 6])
        ]
        assert windows, i
        shifted += (p, p) not in windows
    assert shifted > 0


def test_streamed_split_yields_the_same_labels_as_in_memory() -> None:
    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.integers(0, 256, (50, 1, 4, 4), dtype=np.uint8))
    labels = torch.from_numpy(rng.integers(0, 5, 50))
    index = torch.arange(50)
    mean, std = channel_stats(images, index)
    streamed = Split(dataset=ArrayImages(images, labels, index, mean, std))
    memory = Split((images.float() / 255 - mean) / std, labels)
    gen = torch.Generator().manual_seed(3)
    got = list(iter_batches(streamed, 8, shuffle=True, gen=gen, device=CPU, num_workers=0))
    assert [xb.shape[1:] for xb, _ in got] == [torch.Size([1, 4, 4])] * len(got)
    assert Counter(torch.cat([yb for _, yb in got]).tolist()) == Counter(labels.tolist())
    assert len(got) == num_batches(streamed, 8) == num_batches(memory, 8)
    # the streamed statistics equal the in-memory ones (unbiased per-channel std)
    ref = images.float() / 255
    assert torch.allclose(mean.flatten(), ref.mean().reshape(1), atol=1e-6)
    assert torch.allclose(std.flatten(), ref.std().reshape(1), atol=1e-5)
    x_all = torch.cat([xb for xb, _ in iter_batches(streamed, 50, shuffle=False, gen=gen, device=CPU)])
    assert torch.allclose(x_all, memory.x, atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(
    labels=st.lists(st.integers(0, 4), min_size=2, max_size=200),
    val=st.floats(0.05, 0.5),
    test=st.floats(0.0, 0.35),
    seed=st.integers(0, 2**32 - 1),
)
def test_splits_always_partition_the_indices(labels: list[int], val: float, test: float, seed: int) -> None:
    y = np.array(labels)
    try:
        tr, va, te = split_indices(y, val_split=val, test_split=test, seed=seed, train_fraction=1.0, where="t")
    except DataError as exc:
        # only for a single class or a validation split too small to hold anything
        assert len(set(labels)) < 2 or "validation split" in str(exc)
        return
    joined = np.concatenate([tr, va, te])
    assert sorted(joined.tolist()) == list(range(len(y)))
    assert len(va) > 0
    assert set(y[tr].tolist()) == set(labels)  # every class has a training sample


@pytest.mark.parametrize("fraction", [0.1, 0.5, 1.0])
def test_train_fraction_keeps_every_class(fraction: float) -> None:
    y = np.repeat(np.arange(4), 40)
    tr, va, _ = split_indices(y, val_split=0.2, test_split=0.0, seed=0, train_fraction=fraction, where="t")
    assert set(y[tr].tolist()) == {0, 1, 2, 3}
    assert len(tr) == pytest.approx(128 * fraction, abs=4)
    assert len(va) == 32 and not set(tr) & set(va)


@pytest.mark.parametrize(
    "per_class, classes, val, test, n_val, n_test",
    [
        (3, 10, 0.15, 0.15, 4, 4),  # per class 0.45 rounds to 0, but the totals still hold out 4 + 4 (30 * 0.15)
        (3, 2, 0.15, 0.15, 1, 1),
        (100, 3, 0.2, 0.1, 60, 30),
    ],
)
def test_small_classes_still_get_the_overall_split_sizes(
    per_class: int, classes: int, val: float, test: float, n_val: int, n_test: int
) -> None:
    y = np.repeat(np.arange(classes), per_class)
    tr, va, te = split_indices(y, val_split=val, test_split=test, seed=3, train_fraction=1.0, where="t")
    assert (len(va), len(te)) == (n_val, n_test)
    assert set(y[tr].tolist()) == set(range(classes))
    assert max(np.bincount(y[va], minlength=classes)) <= 1 + len(va) // classes  # spread, not piled on one class
