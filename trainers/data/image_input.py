"""One image file decoded for a trained model exactly as its training images were decoded.

Consistent with training: an image-folder model resized every training image, so any size is resized; the bundled
digits and the torchvision sets were never resized, so another size is refused. A grayscale image given to a colour
model is repeated over three channels, as training did for a folder mixing both; a colour image given to a grayscale
model is refused (training never turned colour into gray)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from trainers.data.image_decode import GRAY_MODES, IMAGE_ERRORS, IMAGE_EXTENSIONS, load_image
from trainers.spec.errors import DataError


def decode_for_model(path: Path, size: tuple[int, int], channels: int, resize: bool, source: str) -> np.ndarray:
    """(channels, h, w) float32 in [0, 1] for a model taking `size` = (h, w) images trained on `source`; a file
    that is not a usable image is one DataError naming it."""
    if path.is_dir():
        raise DataError(f"{path}: a folder, not an image file")
    try:
        with Image.open(path) as im:
            mode, (width, height) = str(im.mode), im.size
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IMAGE_ERRORS:
        raise DataError(f"{path}: not an image ({', '.join(sorted(IMAGE_EXTENSIONS))} files can be read)") from None
    h, w = size
    if channels == 1 and mode not in GRAY_MODES:
        raise DataError(
            f"{path}: a colour image ({mode}), but the model was trained on grayscale images (1 channel); "
            f"convert it to grayscale"
        )
    if not resize and (height, width) != (h, w):
        raise DataError(
            f"{path}: {width}x{height} pixels, but the model takes {w}x{h} images ({source} images were "
            f"not resized in training, so neither are these); resize it to {w}x{h}"
        )
    return load_image(path, h, channels)
