"""Images in a folder with one sub-folder per class (the sub-folder's name is the class name)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from trainers.data.bundle import DatasetBundle, Split, feature_stats
from trainers.data.common import make_bundle, split_indices
from trainers.data.image_decode import GRAY_MODES, IMAGE_ERRORS, IMAGE_EXTENSIONS, load_image
from trainers.data.preprocessing import Preprocessing
from trainers.spec.config import DataConfig
from trainers.spec.errors import DataError

_STATS_SAMPLE = 512


def load_image_folder(cfg: DataConfig) -> DatasetBundle:
    root = Path(cfg.path).expanduser()
    paths, labels, class_names = find_images(root)
    channels = 1 if all(probe_mode(p) in GRAY_MODES for p in paths) else 3
    size = cfg.image_size
    tr, va, te = split_indices(
        labels,
        val_split=cfg.val_split,
        test_split=cfg.test_split,
        seed=cfg.split_seed,
        train_fraction=cfg.train_fraction,
        where=str(root),
    )
    name = root.name or str(root)
    prep = Preprocessing("image", tuple(class_names), "image_folder", size=(size, size), channels=channels, resize=True)
    n_used = len(tr) + len(va) + len(te)
    if n_used * channels * size * size * 4 / 2**20 <= cfg.in_memory_limit_mb:

        def part(idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
            return _decode(paths, idx, size, channels), torch.from_numpy(labels[idx])

        return make_bundle(
            name,
            class_names,
            part(tr),
            part(va),
            part(te) if len(te) else None,
            normalize=cfg.normalize,
            preprocessing=prep,
        )
    if cfg.normalize:
        # a sample of training images estimates the statistics without decoding the whole folder
        mean, std = feature_stats(_decode(paths, tr[:_STATS_SAMPLE], size, channels))
    else:
        mean, std = torch.zeros(channels, 1, 1), torch.ones(channels, 1, 1)

    def stream(idx: np.ndarray) -> Split:
        return Split(dataset=ImagePaths([str(paths[i]) for i in idx], labels[idx], size, channels, mean, std))

    return DatasetBundle(
        name,
        (channels, size, size),
        len(class_names),
        class_names,
        stream(tr),
        stream(va),
        stream(te) if len(te) else None,
        preprocessing=prep.with_stats(mean.flatten().tolist(), std.flatten().tolist()) if cfg.normalize else prep,
    )


def _decode(paths: list[Path], idx: np.ndarray, size: int, channels: int) -> torch.Tensor:
    out = torch.empty(len(idx), channels, size, size)
    for row, i in enumerate(idx):
        out[row] = torch.from_numpy(load_image(paths[i], size, channels))
    return out


def find_images(root: Path) -> tuple[list[Path], np.ndarray, list[str]]:
    """Image paths, their class indices, and the sorted class names; hidden and non-image files skipped."""
    if not root.is_dir():
        raise DataError(f"{root}: the image folder does not exist")
    class_dirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not class_dirs:
        raise DataError(
            f"{root}: no class sub-folders; put the images of each class in a sub-folder named after the class"
        )
    per_class = [_images_in(d) for d in class_dirs]
    if not any(per_class):
        raise DataError(f"{root}: no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) in its class sub-folders")
    empty = [str(d) for d, files in zip(class_dirs, per_class) if not files]
    if empty:
        raise DataError(f"{root}: class folder(s) without images: {', '.join(empty)}; add images or remove them")
    if len(class_dirs) < 2:
        raise DataError(
            f"{root}: only one class ({class_dirs[0].name}); a classifier needs at least 2 class sub-folders"
        )
    paths = [p for files in per_class for p in files]
    labels = np.concatenate([np.full(len(files), k, dtype=np.int64) for k, files in enumerate(per_class)])
    return paths, labels, [d.name for d in class_dirs]


def _images_in(folder: Path) -> list[Path]:
    found = []
    for p in folder.rglob("*"):
        rel = p.relative_to(folder).parts
        if p.suffix.lower() in IMAGE_EXTENSIONS and not any(part.startswith(".") for part in rel) and p.is_file():
            found.append(p)
    return sorted(found)


def probe_mode(path: Path) -> str:
    """The image's Pillow mode, read from its header only."""
    try:
        with Image.open(path) as im:
            return str(im.mode)
    except IMAGE_ERRORS as exc:
        raise DataError(f"{path}: not a readable image ({exc}); fix or remove the file") from None


class ImagePaths(Dataset):
    """Streams normalised (C, H, W) images from disk; a bad file is a DataError naming its path."""

    def __init__(
        self, paths: list[str], labels: np.ndarray, size: int, channels: int, mean: torch.Tensor, std: torch.Tensor
    ) -> None:
        self.paths, self.labels = paths, labels
        self.size, self.channels = size, channels
        self.mean, self.std = mean, std

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        x = torch.from_numpy(load_image(self.paths[i], self.size, self.channels))
        return (x - self.mean) / self.std, int(self.labels[i])
