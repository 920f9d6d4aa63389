"""Image files decoded to float32 (channels, size, size) arrays in [0, 1], as every image source reads them: for
training (trainers.data.image_folder) and for prediction on new files (trainers.data.image_input)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from trainers.spec.errors import DataError

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"})
GRAY_MODES = frozenset({"L", "1", "I", "I;16", "I;16L", "I;16B", "I;16N"})
# what Pillow raises for files that are not images, truncated, or absurdly large
IMAGE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError)


def load_image(path: Path | str, size: int, channels: int) -> np.ndarray:
    """Float32 (channels, size, size) in [0, 1]; any decoding problem is a DataError naming the file."""
    try:
        with Image.open(path) as im:
            im.load()  # decode now, so a truncated file fails here and not later
            return _to_array(im, size, channels)
    except IMAGE_ERRORS as exc:
        raise DataError(f"{path}: cannot read this image ({exc}); fix or remove the file") from None


def _to_array(im: Image.Image, size: int, channels: int) -> np.ndarray:
    box = (size, size)
    if im.mode in GRAY_MODES:
        if im.mode.startswith("I"):
            # 16-bit grayscale: scale its range to [0, 1] before resizing in float
            scaled = np.clip(np.asarray(im, dtype=np.float32) / 65535.0, 0.0, 1.0)
            gray = np.asarray(Image.fromarray(scaled).resize(box, Image.Resampling.BILINEAR), dtype=np.float32)
        else:
            small = im.convert("L").resize(box, Image.Resampling.BILINEAR)
            gray = np.asarray(small, dtype=np.float32) / 255.0
        return np.repeat(gray[None], channels, axis=0)
    rgb = im.convert("RGB").resize(box, Image.Resampling.BILINEAR)
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.float32).transpose(2, 0, 1) / 255.0)
