"""Pretrained ImageNet weights read from disk. Nothing here ever downloads.

torchvision's Weights enums carry each checkpoint's URL as plain data, so the expected file name
(and where torch hub would have cached it) is known without a network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlparse

import torch
from torch import nn

from trainers.spec.config import TORCHVISION_MODELS
from trainers.spec.errors import ModelError


def _weights() -> dict[str, Any]:
    # imported when asked: torchvision.models costs about two seconds at start-up (see trainers/models/vision.py)
    from torchvision import models as tvm

    return {
        "resnet18": tvm.ResNet18_Weights.DEFAULT,
        "mobilenet_v3_small": tvm.MobileNet_V3_Small_Weights.DEFAULT,
        "efficientnet_b0": tvm.EfficientNet_B0_Weights.DEFAULT,
    }


def weights_url(family: str) -> str:
    known = _weights()
    if family not in known:
        raise ModelError(
            f"There are no pretrained weights for model {family!r}; pretrained weights exist for "
            + ", ".join(TORCHVISION_MODELS)
        )
    return str(known[family].url)


def weights_file_name(family: str) -> str:
    return Path(urlparse(weights_url(family)).path).name


def pretrained_weights_path(family: str, weights_path: str = "") -> Path:
    """The file pretrained weights are read from: weights_path when given, else torch hub's cache."""
    name = weights_file_name(family)  # validates the family even when a path is given
    if weights_path:
        return Path(weights_path).expanduser()
    return Path(torch.hub.get_dir()) / "checkpoints" / name


def read_pretrained_state(family: str, weights_path: str = "") -> dict[str, torch.Tensor]:
    """The state dict in the weights file, or a ModelError saying which file to put where."""
    path = pretrained_weights_path(family, weights_path)
    if not path.is_file():
        if weights_path:
            raise ModelError(
                f"The pretrained weights file {path} does not exist. Set model.weights_path to a "
                f"{family} ImageNet checkpoint such as {weights_file_name(family)} "
                f"(from {weights_url(family)}), or leave it empty to use the torch hub cache."
            )
        raise ModelError(
            f"Pretrained {family} weights were not found at {path}. TuneLab never downloads: "
            f"fetch {weights_url(family)} on a connected machine and place the file "
            f"{path.name} in {path.parent}, or set model.weights_path to a copy of it."
        )
    try:
        # weights_only: a checkpoint is data and must never run code while loading.
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch.load fails in many ways (pickle, zip, EOF, OS); all mean "unusable"
        raise ModelError(
            f"The weights file {path} could not be read ({type(exc).__name__}): it is corrupt, not "
            f"a PyTorch checkpoint, or holds objects other than tensors (only a plain state dict is "
            f"loaded, never pickled code). Replace it with {weights_file_name(family)} "
            f"from {weights_url(family)}."
        ) from None
    return _state_dict_of(obj, path)


def _state_dict_of(obj: Any, path: Path) -> dict[str, torch.Tensor]:
    # Training scripts often wrap the weights ({"state_dict": ...}) or save a DataParallel model.
    for key in ("state_dict", "model"):
        if isinstance(obj, Mapping) and isinstance(obj.get(key), Mapping):
            obj = obj[key]
    if (
        not isinstance(obj, Mapping)
        or not obj
        or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())
    ):
        raise ModelError(f"The weights file {path} does not hold a state dict of tensors.")
    state = dict(obj)
    if all(k.startswith("module.") for k in state):
        state = {k.removeprefix("module."): v for k, v in state.items()}
    return state


def load_strict(model: nn.Module, state: dict[str, torch.Tensor], family: str, path: Path) -> None:
    """Load into the ImageNet-shaped model; any key or shape mismatch is a ModelError naming the file."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise ModelError(
            f"The weights file {path} is not a torchvision {family} ImageNet checkpoint: "
            f"{len(missing)} missing keys {_few(missing)}, {len(unexpected)} unexpected keys "
            f"{_few(unexpected)}. Use {weights_file_name(family)} from {weights_url(family)}."
        )
    for key, tensor in state.items():
        if tuple(tensor.shape) != tuple(expected[key].shape):
            raise ModelError(
                f"The weights file {path} does not fit torchvision {family}: {key} has shape "
                f"{tuple(tensor.shape)}, expected {tuple(expected[key].shape)}."
            )
    model.load_state_dict(state, strict=True)


def _few(keys: list[str]) -> str:
    return "(" + ", ".join(keys[:3]) + (", ..." if len(keys) > 3 else "") + ")"
