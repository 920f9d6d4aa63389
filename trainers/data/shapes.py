"""What a source's samples look like, known without reading the data (and without importing torch).

The forms use it to show a live parameter count and to lay out the schedule preview in optimizer
steps before any data is loaded. Sources read from the user's own files return None: their shape is
known only once they are read.
"""

from __future__ import annotations

from dataclasses import dataclass

from trainers.config import DataConfig


@dataclass(frozen=True)
class SourceShape:
    input_shape: tuple[int, ...]  # one sample, no batch axis
    num_classes: int
    samples: int                  # all samples the source holds, before splitting


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
    return _KNOWN.get(cfg.source)


def planned_train_samples(cfg: DataConfig, samples: int) -> int:
    """Training samples left after the validation and test splits and train_fraction."""
    held_out = round(samples * cfg.val_split) + round(samples * cfg.test_split)
    return max(1, int((samples - held_out) * cfg.train_fraction))
