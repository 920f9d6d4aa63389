"""MNIST-format IDX files written for tests and benchmarks, read back by the real torchvision loader."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def _images(labels: np.ndarray, rng: np.random.Generator, classes: int) -> np.ndarray:
    """28x28 uint8 images whose brightness depends on the class, plus noise."""
    base = (labels[:, None, None] * (220 // classes) + 20).astype(np.int16)
    noise = rng.integers(-20, 20, size=(len(labels), 28, 28))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def write_idx(
    raw: Path, n_train: int = 60, n_test: int = 20, classes: int = 3, gz: bool = False, seed: int = 0
) -> dict[str, np.ndarray]:
    """Real IDX files (magic 2051 for images, 2049 for labels, big-endian dims, uint8 data)."""
    rng = np.random.default_rng(seed)
    raw.mkdir(parents=True, exist_ok=True)
    y_train = np.arange(n_train) % classes
    y_test = np.arange(n_test) % classes
    arrays = {
        "train_x": _images(y_train, rng, classes),
        "train_y": y_train.astype(np.uint8),
        "test_x": _images(y_test, rng, classes),
        "test_y": y_test.astype(np.uint8),
    }
    blobs = {
        IDX_FILES[0]: struct.pack(">IIII", 2051, n_train, 28, 28) + arrays["train_x"].tobytes(),
        IDX_FILES[1]: struct.pack(">II", 2049, n_train) + arrays["train_y"].tobytes(),
        IDX_FILES[2]: struct.pack(">IIII", 2051, n_test, 28, 28) + arrays["test_x"].tobytes(),
        IDX_FILES[3]: struct.pack(">II", 2049, n_test) + arrays["test_y"].tobytes(),
    }
    for name, blob in blobs.items():
        if gz:
            (raw / (name + ".gz")).write_bytes(gzip.compress(blob))
        else:
            (raw / name).write_bytes(blob)
    return arrays
