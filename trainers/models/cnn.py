"""A configurable convolutional network for image input (channels, height, width)."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from trainers.models.common import image_shape, make_activation
from trainers.spec.config import ModelConfig

_POOLS: dict[str, type[nn.Module]] = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}


def build_cnn(cfg: ModelConfig, input_shape: tuple[int, ...], num_classes: int) -> nn.Sequential:
    """cnn_blocks × [conv → BatchNorm2d? → activation → pool?] → global average pool → Dropout → Linear.

    Channels start at cnn_channels and double each block. Pooling halves each spatial axis that is
    still at least 2 pixels, so deep stacks on tiny images (8×8 digits) never pool below 1×1.
    """
    channels, h, w = image_shape("cnn", input_shape)
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    for i in range(cfg.cnn_blocks):
        out = cfg.cnn_channels * 2**i
        # A bias right before BatchNorm is cancelled by its mean subtraction, so it is left out.
        parts: list[nn.Module] = [nn.Conv2d(channels, out, cfg.kernel_size, padding="same", bias=not cfg.batch_norm)]
        if cfg.batch_norm:
            parts.append(nn.BatchNorm2d(out))
        parts.append(make_activation(cfg.activation))
        kernel = (2 if h >= 2 else 1, 2 if w >= 2 else 1)
        if cfg.pooling in _POOLS and kernel != (1, 1):
            parts.append(_POOLS[cfg.pooling](kernel_size=kernel, stride=kernel))
            h, w = h // kernel[0], w // kernel[1]
        layers[f"block{i + 1}"] = nn.Sequential(*parts)
        channels = out
    layers["pool"] = nn.AdaptiveAvgPool2d(1)
    layers["flatten"] = nn.Flatten()
    layers["dropout"] = nn.Dropout(cfg.dropout)
    layers["head"] = nn.Linear(channels, num_classes)
    return nn.Sequential(layers)
