"""Small pictures of image samples for the window: uint8 (H, W, C) arrays, stretched per image to the full range
(the split holds standardised values, which are not colours)."""

from __future__ import annotations

import numpy as np
import torch

from trainers.data.bundle import Split


def sample_images(split: Split, indices: list[int]) -> list[np.ndarray]:
    out = []
    for i in indices:
        if split.in_memory:
            assert split.x is not None
            x = split.x[i]
        else:
            assert split.dataset is not None
            x = split.dataset[i][0]
        out.append(to_uint8(torch.as_tensor(x).detach().cpu().float().numpy()))
    return out


def to_uint8(chw: np.ndarray) -> np.ndarray:
    """A (C, H, W) float image as (H, W, C) uint8, its own minimum black and maximum white."""
    lo, hi = float(chw.min()), float(chw.max())
    scaled = (chw - lo) / (hi - lo) if hi > lo else np.zeros_like(chw)
    return np.ascontiguousarray((scaled * 255.0 + 0.5).astype(np.uint8).transpose(1, 2, 0))
