"""The bundled UCI handwritten digits (1797 images of 8x8 pixels, 0..16): works offline on first launch."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import numpy as np
import torch

from resources import resource_path
from trainers.data.bundle import DatasetBundle
from trainers.data.common import bundle_from_tensors
from trainers.data.preprocessing import Preprocessing
from trainers.spec.config import DataConfig
from trainers.spec.errors import DataError

_PIXELS = 64


def read_digits(path: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pixels (N, 64) as float in [0, 16] and labels (N,) as int64 from the gzip CSV (no header)."""
    path = path or resource_path("data", "digits.csv.gz")
    rows: list[list[str]] = []
    try:
        with gzip.open(path, "rt", newline="", encoding="ascii") as fh:
            rows = [row for row in csv.reader(fh) if row]
        table = np.array(rows, dtype=np.float64)
    except (OSError, EOFError, ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: the bundled digits file cannot be read ({exc}); reinstall TuneLab") from None
    if table.ndim != 2 or table.shape[1] != _PIXELS + 1:
        raise DataError(f"{path}: expected {_PIXELS + 1} columns (64 pixels, then the label)")
    return table[:, :_PIXELS], table[:, _PIXELS].astype(np.int64)


def load_digits(cfg: DataConfig) -> DatasetBundle:
    pixels, labels = read_digits()
    x = torch.from_numpy(pixels / 16.0).float().reshape(-1, 1, 8, 8)
    y = torch.from_numpy(labels)
    return bundle_from_tensors(
        "digits",
        x,
        y,
        val_split=cfg.val_split,
        test_split=cfg.test_split,
        seed=cfg.split_seed,
        train_fraction=cfg.train_fraction,
        class_names=[str(i) for i in range(10)],
        normalize=cfg.normalize,
        # 8x8 grayscale, never resized; the bundled pixel values run 0..16
        preprocessing=Preprocessing(
            "image", tuple(str(i) for i in range(10)), "digits", size=(8, 8), channels=1, raw_scale=16.0
        ),
    )
