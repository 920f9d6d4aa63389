"""What every dataset source shares: checked stratified splits, and bundles built from split tensors."""

from __future__ import annotations

import numpy as np
import torch

from trainers.data.bundle import DatasetBundle, Split, feature_stats
from trainers.data.preprocessing import Preprocessing
from trainers.data.splits import stratified_split, stratified_subsample
from trainers.spec.errors import DataError


def check_classes(labels: np.ndarray, where: str) -> None:
    """A classifier needs at least two classes."""
    found = np.unique(labels)
    if len(found) < 2:
        shown = ", ".join(str(c) for c in found[:1]) or "none"
        raise DataError(f"{where}: found {len(found)} class ({shown}); a classifier needs at least 2 classes")


def split_indices(
    labels: np.ndarray, *, val_split: float, test_split: float, seed: int, train_fraction: float, where: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stratified, seeded train/val/test indices; train thinned to `train_fraction` (stratified too)."""
    labels = np.asarray(labels)
    check_classes(labels, where)
    tr, va, te = stratified_split(labels, val_split, test_split, seed)
    tr = tr[stratified_subsample(labels[tr], train_fraction, seed)]
    if len(va) == 0:
        # an empty validation split would make every validation metric 0/0
        per_class = np.bincount(np.unique(labels, return_inverse=True)[1])
        raise DataError(
            f"{where}: {len(labels)} samples in {len(per_class)} classes (the smallest class has "
            f"{per_class.min()}) are too few to give every class a training sample and still hold out "
            f"a validation split of {val_split:g}; add samples or raise data.val_split"
        )
    return tr, va, te


def check_covered(train_labels: np.ndarray, other_labels: np.ndarray, class_names: list[str], where: str) -> None:
    """Every class that is evaluated must have at least one training sample."""
    missing = sorted(set(np.unique(other_labels).tolist()) - set(np.unique(train_labels).tolist()))
    if missing:
        names = ", ".join(class_names[i] if 0 <= i < len(class_names) else str(i) for i in missing[:10])
        raise DataError(
            f"{where}: class(es) {names} have no training sample; add samples of them to the "
            f"training data or raise data.train_fraction"
        )


def make_bundle(
    name: str,
    class_names: list[str],
    train: tuple[torch.Tensor, torch.Tensor],
    val: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor] | None,
    *,
    normalize: bool,
    feature_names: list[str] | None = None,
    preprocessing: Preprocessing | None = None,
) -> DatasetBundle:
    """An in-memory bundle, standardised with statistics of the training split only (recorded in `preprocessing`,
    the source's description of its raw input)."""
    xtr, ytr = train
    xva, yva = val
    xte = test[0] if test is not None else None
    if normalize:
        mean, std = feature_stats(xtr)
        xtr, xva = (xtr - mean) / std, (xva - mean) / std
        xte = (xte - mean) / std if xte is not None else None
        if preprocessing is not None and preprocessing.kind == "image":
            preprocessing = preprocessing.with_stats(mean.flatten().tolist(), std.flatten().tolist())
    test_split = Split(xte, test[1]) if test is not None and xte is not None and len(test[1]) else None
    return DatasetBundle(
        name,
        tuple(xtr.shape[1:]),
        len(class_names),
        list(class_names),
        Split(xtr, ytr),
        Split(xva, yva),
        test_split,
        list(feature_names or []),
        preprocessing,
    )


def bundle_from_tensors(
    name: str,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    val_split: float = 0.15,
    test_split: float = 0.15,
    seed: int = 0,
    train_fraction: float = 1.0,
    class_names: list[str] | None = None,
    normalize: bool = True,
    feature_names: list[str] | None = None,
    preprocessing: Preprocessing | None = None,
) -> DatasetBundle:
    """In-memory samples split stratified and seeded, then standardised with training statistics."""
    labels = y.numpy()
    tr, va, te = split_indices(
        labels, val_split=val_split, test_split=test_split, seed=seed, train_fraction=train_fraction, where=name
    )
    x = x.float()
    names = class_names or [str(i) for i in range(int(labels.max()) + 1)]
    test = (x[te], y[te]) if len(te) else None
    return make_bundle(
        name,
        names,
        (x[tr], y[tr]),
        (x[va], y[va]),
        test,
        normalize=normalize,
        feature_names=feature_names,
        preprocessing=preprocessing,
    )
