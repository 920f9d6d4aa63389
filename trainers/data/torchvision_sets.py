"""MNIST, Fashion-MNIST, KMNIST, CIFAR-10/100 and SVHN read by torchvision from a local folder.

The official training set gives train + validation (a stratified carve-out); the official test set is the
test split, so data.test_split does not apply to these sources.
"""

from __future__ import annotations

import gzip
import pickle
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchvision.datasets as tvd
from torch.utils.data import Dataset
from torchvision.datasets.utils import extract_archive

from trainers.data.bundle import DatasetBundle, Split, usable_std
from trainers.data.common import check_covered, make_bundle, split_indices
from trainers.data.preprocessing import Preprocessing
from trainers.spec.config import DataConfig
from trainers.spec.errors import DataError
from trainers.spec.paths import data_dir

_IDX = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@dataclass(frozen=True)
class _Spec:
    title: str  # shown to users
    cls: str  # torchvision.datasets class name
    folder: str  # where the files live, relative to the root
    files: tuple[str, ...]  # the files torchvision needs in that folder
    layout: str  # array layout torchvision holds: "nhw", "nhwc" or "nchw"
    archive: str = ""  # a file in the root that unpacks into `folder`


_SPECS: dict[str, _Spec] = {
    "mnist": _Spec("MNIST", "MNIST", "MNIST/raw", _IDX, "nhw"),
    "fashion_mnist": _Spec("Fashion-MNIST", "FashionMNIST", "FashionMNIST/raw", _IDX, "nhw"),
    "kmnist": _Spec("KMNIST", "KMNIST", "KMNIST/raw", _IDX, "nhw"),
    "cifar10": _Spec(
        "CIFAR-10",
        "CIFAR10",
        "cifar-10-batches-py",
        tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch", "batches.meta"),
        "nhwc",
        "cifar-10-python.tar.gz",
    ),
    "cifar100": _Spec(
        "CIFAR-100", "CIFAR100", "cifar-100-python", ("train", "test", "meta"), "nhwc", "cifar-100-python.tar.gz"
    ),
    "svhn": _Spec("SVHN", "SVHN", ".", ("train_32x32.mat", "test_32x32.mat"), "nchw"),
}


def dataset_root(cfg: DataConfig) -> Path:
    return Path(cfg.path).expanduser() if cfg.path else data_dir() / "datasets"


def load_torchvision(cfg: DataConfig) -> DatasetBundle:
    spec = _SPECS[cfg.source]
    root = dataset_root(cfg)
    _unpack_local_archives(spec, root)
    x_all, y_all, class_names = _read(spec, root, train=True, download=cfg.download)
    x_test, y_test, _ = _read(spec, root, train=False, download=cfg.download)
    where = f"{spec.title} in {root}"
    labels = y_all.numpy()
    # data.test_split is ignored: the official test set is the test split
    tr, va, _ = split_indices(
        labels,
        val_split=cfg.val_split,
        test_split=0.0,
        seed=cfg.split_seed,
        train_fraction=cfg.train_fraction,
        where=where,
    )
    check_covered(labels[tr], np.concatenate([labels[va], y_test.numpy()]), class_names, where)
    tr_t, va_t = torch.from_numpy(tr), torch.from_numpy(va)
    n_used = len(tr) + len(va) + len(y_test)
    decoded_mb = n_used * x_all[0].numel() * 4 / 2**20
    c, h, w = (int(v) for v in x_all.shape[1:])
    prep = Preprocessing("image", tuple(class_names), cfg.source, size=(h, w), channels=c)
    if decoded_mb <= cfg.in_memory_limit_mb:
        return make_bundle(
            cfg.source,
            class_names,
            (_floats(x_all[tr_t]), y_all[tr_t]),
            (_floats(x_all[va_t]), y_all[va_t]),
            (_floats(x_test), y_test),
            normalize=cfg.normalize,
            preprocessing=prep,
        )
    channels = x_all.shape[1]
    if cfg.normalize:
        mean, std = channel_stats(x_all, tr_t)
    else:
        mean, std = torch.zeros(channels, 1, 1), torch.ones(channels, 1, 1)
    train = Split(dataset=ArrayImages(x_all, y_all, tr_t, mean, std))
    val = Split(dataset=ArrayImages(x_all, y_all, va_t, mean, std))
    test = Split(dataset=ArrayImages(x_test, y_test, torch.arange(len(y_test)), mean, std))
    return DatasetBundle(
        cfg.source,
        tuple(x_all.shape[1:]),
        len(class_names),
        class_names,
        train,
        val,
        test if len(y_test) else None,
        preprocessing=prep.with_stats(mean.flatten().tolist(), std.flatten().tolist()) if cfg.normalize else prep,
    )


class ArrayImages(Dataset):
    """Normalised float (C, H, W) images decoded one at a time from a shared uint8 array."""

    def __init__(
        self, images: torch.Tensor, labels: torch.Tensor, index: torch.Tensor, mean: torch.Tensor, std: torch.Tensor
    ) -> None:
        self.images, self.labels, self.index = images, labels, index
        self.mean, self.std = mean, std

    def __len__(self) -> int:
        return int(self.index.shape[0])

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        j = int(self.index[i])
        return (self.images[j].float().div_(255) - self.mean) / self.std, int(self.labels[j])


def channel_stats(images: torch.Tensor, index: torch.Tensor, chunk: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std of images[index] / 255, in chunks so no full float copy is made."""
    c = images.shape[1]
    total = torch.zeros(c, dtype=torch.float64)
    squares = torch.zeros(c, dtype=torch.float64)
    for i in range(0, len(index), chunk):
        block = images[index[i : i + chunk]].to(torch.float64).div_(255)
        total += block.sum(dim=(0, 2, 3))
        squares += block.square().sum(dim=(0, 2, 3))
    n = len(index) * images[0, 0].numel()
    mean = total / n
    var = (squares - n * mean.square()) / max(n - 1, 1)  # unbiased, as feature_stats
    std = usable_std(var.clamp_min(0).sqrt())
    return mean.float().view(c, 1, 1), std.float().view(c, 1, 1)


def _floats(images: torch.Tensor) -> torch.Tensor:
    return images.float().div_(255)


def _read(spec: _Spec, root: Path, *, train: bool, download: bool) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """uint8 images (N, C, H, W), int64 labels and class names of one official split."""
    cls: Any = getattr(tvd, spec.cls)
    kwargs: dict[str, Any] = {"split": "train" if train else "test"} if spec.cls == "SVHN" else {"train": train}
    try:
        ds = cls(root=str(root), download=download, **kwargs)
    except ImportError as exc:
        raise DataError(
            f"{spec.title} files in {root} need the optional package {exc.name or 'scipy'}: pip install scipy"
        ) from None
    except (
        RuntimeError,
        OSError,
        ValueError,
        TypeError,
        AssertionError,
        EOFError,
        KeyError,
        pickle.UnpicklingError,
    ) as exc:
        if _missing(spec, root):
            raise DataError(_missing_message(spec, root, exc if download else None)) from None
        detail = str(exc) or type(exc).__name__
        raise DataError(
            f"{spec.title} files in {root / spec.folder} are corrupted or not the official ones "
            f"({detail}); replace them, or delete them and set data.download = true to fetch them "
            f"again when online"
        ) from None
    data = ds.data if isinstance(ds.data, torch.Tensor) else torch.from_numpy(np.asarray(ds.data))
    if spec.layout == "nhw":
        data = data.unsqueeze(1)
    elif spec.layout == "nhwc":
        data = data.permute(0, 3, 1, 2)
    raw_labels = ds.labels if spec.cls == "SVHN" else ds.targets
    labels = torch.as_tensor(np.asarray(raw_labels), dtype=torch.int64)
    names = [str(i) for i in range(10)] if spec.cls == "SVHN" else [str(c) for c in ds.classes]
    return data.contiguous(), labels, names


def _missing(spec: _Spec, root: Path) -> list[Path]:
    return [p for p in (root / spec.folder / f for f in spec.files) if not p.is_file()]


def _missing_message(spec: _Spec, root: Path, download_error: BaseException | None) -> str:
    folder = (root / spec.folder).absolute()
    lines = [f"{spec.title} was not found: place these files in {folder}:"]
    lines += [f"  {folder / f}" for f in spec.files]
    if spec.archive:
        lines.append(f"or place {spec.archive} in {root.absolute()} (it is unpacked there).")
    if spec.files == _IDX:
        lines.append("(the .gz versions of these files work too; they are unpacked there.)")
    if download_error is not None:
        lines.append(f"Downloading them failed: {download_error}".strip())
        lines.append("Check the internet connection, or place the files by hand.")
    else:
        lines.append("Setting data.download = true fetches them when online.")
    return "\n".join(lines)


def _unpack_local_archives(spec: _Spec, root: Path) -> None:
    """Accept the files as distributed: gzipped IDX files, or the CIFAR tar.gz beside its folder."""
    folder = root / spec.folder
    if spec.files == _IDX:
        for name in spec.files:
            target, packed = folder / name, folder / (name + ".gz")
            if not target.is_file() and packed.is_file():
                try:
                    with gzip.open(packed, "rb") as src, open(target, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                except (OSError, EOFError) as exc:
                    target.unlink(missing_ok=True)
                    raise DataError(f"{packed} cannot be unpacked ({exc}); replace it") from None
    elif spec.archive and _missing(spec, root) and (root / spec.archive).is_file():
        try:
            extract_archive(str(root / spec.archive), str(root))
        except (OSError, EOFError, RuntimeError, tarfile.TarError) as exc:
            raise DataError(f"{root / spec.archive} cannot be unpacked ({exc}); replace it") from None
