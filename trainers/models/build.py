"""build_model and describe_model: from a ModelConfig and the data's shape to a ready nn.Module."""

from __future__ import annotations

import operator
from dataclasses import dataclass

import torch
from torch import nn

from trainers.models.cnn import build_cnn
from trainers.models.mlp import build_mlp
from trainers.models.summary import count_parameters, model_summary
from trainers.models.vision import build_vision
from trainers.spec.config import ModelConfig
from trainers.spec.errors import ModelError


@dataclass(frozen=True)
class ModelInfo:
    """What the GUI shows next to the model form."""

    param_count: int
    trainable_count: int
    summary: str


def build_model(cfg: ModelConfig, input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """The model for cfg, taking samples of input_shape (no batch axis) to num_classes logits.

    Every invalid setting, mismatch with the data, or missing/corrupt weights file is a ModelError.
    """
    shape, n = _checked(cfg, input_shape, num_classes)
    return _construct(cfg, shape, n, load_weights=True)


def describe_model(cfg: ModelConfig, input_shape: tuple[int, ...], num_classes: int) -> ModelInfo:
    """Parameter counts and summary of the model build_model would return, without building it for real.

    It is built on the meta device: no memory is allocated and no weights are initialised or read, so
    this is fast enough to follow every form edit, and an oversized model is described rather than
    exhausting memory. Pretrained weights files are checked only by build_model.
    """
    shape, n = _checked(cfg, input_shape, num_classes)
    with torch.device("meta"):
        model = _construct(cfg, shape, n, load_weights=False)
    return ModelInfo(count_parameters(model), count_parameters(model, trainable_only=True), model_summary(model, shape))


def _construct(cfg: ModelConfig, shape: tuple[int, ...], num_classes: int, load_weights: bool) -> nn.Module:
    if cfg.family == "mlp":
        return build_mlp(cfg, shape, num_classes)
    if cfg.family == "cnn":
        return build_cnn(cfg, shape, num_classes)
    return build_vision(cfg, shape, num_classes, load_weights=load_weights)


def _checked(cfg: ModelConfig, input_shape: tuple[int, ...], num_classes: int) -> tuple[tuple[int, ...], int]:
    """The data's shape and class count (a ModelConfig is valid by construction; the weights file is checked
    when it is loaded, with a message saying what to place where)."""
    if not isinstance(cfg, ModelConfig):
        raise ModelError(f"Expected a ModelConfig, got {type(cfg).__name__}.")
    try:
        n = operator.index(num_classes)
        shape = tuple(operator.index(v) for v in input_shape)
    except TypeError:
        raise ModelError(
            f"Model input must be integer sizes: got input shape {input_shape!r} and {num_classes!r} classes."
        ) from None
    if n < 2:
        raise ModelError(
            f"A classifier needs at least 2 classes, but the dataset has {n}. "
            "Check the label column or the class folders."
        )
    if not shape or min(shape) < 1:
        raise ModelError(f"Samples of shape {shape} cannot be modelled: every dimension must be at least 1.")
    return shape, n
