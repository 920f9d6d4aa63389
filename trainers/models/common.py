"""Small helpers shared by the architecture builders: activations and input-shape checks."""

from __future__ import annotations

from typing import Callable

from torch import nn

from trainers.spec.errors import ModelError

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
}


def make_activation(name: str) -> nn.Module:
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ModelError(
            f"model.activation = {name!r} is not supported; choose one of " + ", ".join(ACTIVATIONS)
        ) from None


def image_shape(family: str, input_shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(channels, height, width) of image input, or a ModelError pointing tabular data to the MLP."""
    if len(input_shape) != 3:
        raise ModelError(
            f"The {family} model needs image data (channels, height, width), but this dataset's samples "
            f"have shape {tuple(input_shape)} (tabular). Choose the mlp model for tabular data."
        )
    c, h, w = (int(v) for v in input_shape)
    return c, h, w
