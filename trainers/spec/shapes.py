"""What a source's samples look like, known without reading the data (and without importing torch).

The forms use it to show a live parameter count and to lay out the schedule preview in optimizer
steps before any data is loaded. Sources read from the user's own files return None: their shape is
known only once they are read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from trainers.spec.config import DataConfig, RunConfig


@dataclass(frozen=True)
class SourceShape:
    input_shape: tuple[int, ...]  # one sample, no batch axis
    num_classes: int
    samples: int  # all samples the source holds, before splitting


_KNOWN: dict[str, SourceShape] = {
    "digits": SourceShape((1, 8, 8), 10, 1797),
    "mnist": SourceShape((1, 28, 28), 10, 70_000),
    "fashion_mnist": SourceShape((1, 28, 28), 10, 70_000),
    "kmnist": SourceShape((1, 28, 28), 10, 70_000),
    "cifar10": SourceShape((3, 32, 32), 10, 60_000),
    "cifar100": SourceShape((3, 32, 32), 100, 60_000),
    "svhn": SourceShape((3, 32, 32), 10, 99_289),
}


def known_shape(cfg: DataConfig) -> SourceShape | None:
    return source_shape(cfg.source)


def source_shape(source: str) -> SourceShape | None:
    """The shape of a source by name (a form knows the name before the data fields are valid)."""
    return _KNOWN.get(source)


def planned_train_samples(cfg: DataConfig, samples: int) -> int:
    """Training samples left after the validation and test splits and train_fraction."""
    held_out = round(samples * cfg.val_split) + round(samples * cfg.test_split)
    return max(1, int((samples - held_out) * cfg.train_fraction))


# Used when the data's size is known only once it is read (image folders, CSV files).
ASSUMED_STEPS_PER_EPOCH = 100


def drops_last_single(n: int, batch_size: int, shuffle: bool = True) -> bool:
    """A shuffled epoch skips a last batch of one sample (batch-norm statistics of one are undefined)."""
    return shuffle and n % batch_size == 1 and n > 1


def batches_per_epoch(n: int, batch_size: int, shuffle: bool = True) -> int:
    return math.ceil((n - drops_last_single(n, batch_size, shuffle)) / batch_size)


def planned_steps_per_epoch(cfg: RunConfig) -> tuple[int, bool]:
    """(optimizer steps per epoch, whether that is exact rather than assumed), before the data is read."""
    shape = known_shape(cfg.data)
    if shape is None:
        return ASSUMED_STEPS_PER_EPOCH, False
    return max(1, batches_per_epoch(planned_train_samples(cfg.data, shape.samples), cfg.train.batch_size)), True
