"""Multi-layer perceptron over the flattened input: works for any input shape."""

from __future__ import annotations

import math
from collections import OrderedDict

from torch import nn

from trainers.models.common import make_activation
from trainers.spec.config import ModelConfig


def build_mlp(cfg: ModelConfig, input_shape: tuple[int, ...], num_classes: int) -> nn.Sequential:
    """flatten → hidden_layers × [Linear → BatchNorm1d? → activation → Dropout?] → Linear head.

    Each hidden layer is one named child, so the summary shows one line per layer.
    """
    layers: OrderedDict[str, nn.Module] = OrderedDict(flatten=nn.Flatten())
    width = math.prod(input_shape)
    for i in range(1, cfg.hidden_layers + 1):
        # A bias right before BatchNorm is cancelled by its mean subtraction, so it is left out.
        parts: list[nn.Module] = [nn.Linear(width, cfg.hidden_units, bias=not cfg.batch_norm)]
        if cfg.batch_norm:
            parts.append(nn.BatchNorm1d(cfg.hidden_units))
        parts.append(make_activation(cfg.activation))
        if cfg.dropout > 0:
            parts.append(nn.Dropout(cfg.dropout))
        layers[f"hidden{i}"] = nn.Sequential(*parts)
        width = cfg.hidden_units
    layers["head"] = nn.Linear(width, num_classes)
    return nn.Sequential(layers)
