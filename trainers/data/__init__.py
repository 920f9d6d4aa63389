"""Dataset sources behind one call: load_dataset(cfg) returns train/validation/test splits.

Each source lives in its own module, imported only when used, so choosing the bundled digits never
pays for importing torchvision or Pillow. The tensor types load on first use too, so the forms can
read trainers.spec.shapes before torch is imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trainers.spec.config import DATA_SOURCES, TORCHVISION_SOURCES, DataConfig
from trainers.spec.errors import DataError

if TYPE_CHECKING:
    from trainers.data.bundle import DatasetBundle, Split, augment_batch, iter_batches, num_batches

__all__ = ["DatasetBundle", "Split", "augment_batch", "iter_batches", "load_dataset", "num_batches"]


_FROM_BUNDLE = ("DatasetBundle", "Split", "augment_batch", "iter_batches", "num_batches")


def __getattr__(name: str) -> Any:
    if name in _FROM_BUNDLE:
        from trainers.data import bundle

        return getattr(bundle, name)
    raise AttributeError(f"module 'trainers.data' has no attribute {name!r}")


def load_dataset(cfg: DataConfig) -> DatasetBundle:
    """Read the source named by cfg.source; every problem with the data is a DataError."""
    if cfg.source == "digits":
        from trainers.data.digits import load_digits

        return load_digits(cfg)
    if cfg.source in TORCHVISION_SOURCES:
        from trainers.data.torchvision_sets import load_torchvision

        return load_torchvision(cfg)
    if cfg.source in ("image_folder", "csv") and not cfg.path:
        what = "an image folder" if cfg.source == "image_folder" else "a CSV file"
        raise DataError(f"data.path is empty: source {cfg.source!r} needs {what} to read")
    if cfg.source == "image_folder":
        from trainers.data.image_folder import load_image_folder

        return load_image_folder(cfg)
    if cfg.source == "csv":
        from trainers.data.csv_table import load_csv

        return load_csv(cfg)
    raise DataError(f"unknown data source {cfg.source!r}; choose one of: {', '.join(DATA_SOURCES)}")
