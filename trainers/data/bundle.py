"""A loaded dataset: train/validation/test splits plus what a model needs to know about them.

A split that fits in memory is one tensor pair batched by index (`x[perm[i:i+b]]`); a larger one is a
torch Dataset streamed through a DataLoader with workers. Both yield the same (x, y) batches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from trainers.data.preprocessing import Preprocessing
from trainers.spec.errors import DataError
from trainers.spec.shapes import batches_per_epoch, drops_last_single


@dataclass
class Split:
    """Either `x`/`y` tensors (in memory) or a `dataset` yielding (x, y) pairs (streamed)."""

    x: torch.Tensor | None = None
    y: torch.Tensor | None = None
    dataset: Dataset | None = None

    def __len__(self) -> int:
        if self.y is not None:
            return int(self.y.shape[0])
        assert self.dataset is not None
        return len(self.dataset)  # type: ignore[arg-type]

    @property
    def in_memory(self) -> bool:
        return self.x is not None

    def to(self, device: torch.device) -> Split:
        if not self.in_memory:
            return self
        assert self.x is not None and self.y is not None
        return Split(self.x.to(device), self.y.to(device))


@dataclass
class DatasetBundle:
    name: str
    input_shape: tuple[int, ...]  # (C, H, W) for images, (F,) for tables
    num_classes: int
    class_names: list[str]
    train: Split
    val: Split
    test: Split | None
    feature_names: list[str] = field(default_factory=list)
    preprocessing: Preprocessing | None = None  # how raw input becomes this data's tensors

    @property
    def is_image(self) -> bool:
        return len(self.input_shape) == 3

    def to(self, device: torch.device) -> DatasetBundle:
        return DatasetBundle(
            self.name,
            self.input_shape,
            self.num_classes,
            self.class_names,
            self.train.to(device),
            self.val.to(device),
            self.test.to(device) if self.test is not None else None,
            self.feature_names,
            self.preprocessing,
        )


def feature_stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel (images) or per-feature (tables) mean and std, shaped to broadcast over x."""
    if x.dim() == 4:
        mean = x.mean(dim=(0, 2, 3), keepdim=True)[0]
        std = x.std(dim=(0, 2, 3), keepdim=True)[0]
    else:
        mean = x.mean(dim=0)
        std = x.std(dim=0) if x.shape[0] > 1 else torch.ones_like(mean)
    return mean, usable_std(std)


def usable_std(std: torch.Tensor) -> torch.Tensor:
    """Constant features (an always-blank pixel) get std 1, so standardising never divides by zero."""
    return torch.where(std > 1e-8, std, torch.ones_like(std))


def augment_batch(x: torch.Tensor, flip: bool, crop_padding: int, gen: torch.Generator) -> torch.Tensor:
    """Random horizontal flips and padded random crops on a whole image batch at once."""
    if x.dim() != 4 or (not flip and crop_padding <= 0):
        return x
    n = x.shape[0]
    if flip:
        mask = torch.rand(n, generator=gen) < 0.5
        mask = mask.to(x.device)
        x = torch.where(mask[:, None, None, None], x.flip(3), x)
    if crop_padding > 0:
        p = crop_padding
        h, w = x.shape[2], x.shape[3]
        padded = torch.nn.functional.pad(x, (p, p, p, p))
        dy = torch.randint(0, 2 * p + 1, (n,), generator=gen).to(x.device)
        dx = torch.randint(0, 2 * p + 1, (n,), generator=gen).to(x.device)
        rows = dy[:, None] + torch.arange(h, device=x.device)[None, :]  # n, h
        cols = dx[:, None] + torch.arange(w, device=x.device)[None, :]  # n, w
        idx_n = torch.arange(n, device=x.device)[:, None, None]
        x = padded.permute(0, 2, 3, 1)[idx_n, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
    return x


def iter_batches(
    split: Split, batch_size: int, *, shuffle: bool, gen: torch.Generator, device: torch.device, num_workers: int = 0
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield (x, y) batches on `device`. In-memory splits are indexed; streamed ones use a DataLoader.

    When shuffling (training), a last batch of a single sample is dropped: batch norm cannot train on it."""
    drop_single = drops_last_single(len(split), batch_size, shuffle)
    if split.in_memory:
        assert split.x is not None and split.y is not None
        n = split.y.shape[0]
        order = torch.randperm(n, generator=gen) if shuffle else torch.arange(n)
        order = order.to(split.x.device)
        for i in range(0, n - 1 if drop_single else n, batch_size):
            idx = order[i : i + batch_size]
            yield split.x[idx], split.y[idx]
        return
    assert split.dataset is not None  # a split is in memory (x, y) or a dataset
    loader = DataLoader(
        split.dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        num_workers=num_workers,
        generator=gen if shuffle else None,
        pin_memory=device.type == "cuda",
        drop_last=drop_single,
        persistent_workers=False,
    )
    try:
        for xb, yb in loader:
            yield xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
    except DataError as exc:
        raise DataError(worker_message(exc)) from None


def worker_message(exc: DataError) -> str:
    """A DataLoader worker re-raises with its whole traceback as the message; keep the user's part."""
    text = str(exc).strip()
    if "Traceback" not in text:
        return text
    last = text.splitlines()[-1]
    return last.split("DataError: ", 1)[-1]


def num_batches(split: Split, batch_size: int, shuffle: bool = True) -> int:
    return batches_per_epoch(len(split), batch_size, shuffle)


def as_int_labels(values: list[str] | np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Map arbitrary label values to 0..K-1 in sorted order (numbers sorted numerically)."""
    arr = np.asarray(values)
    uniques = sorted(set(arr.tolist()), key=_label_key)
    lookup = {v: i for i, v in enumerate(uniques)}
    return np.array([lookup[v] for v in arr.tolist()], dtype=np.int64), [str(u) for u in uniques]


def _label_key(v: object) -> tuple[int, float, str]:
    try:
        return (0, float(v), "")  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return (1, 0.0, str(v))
