"""torchvision ResNet-18, MobileNetV3-Small and EfficientNet-B0 adapted to the data's shape and classes."""

from __future__ import annotations

import math
from typing import Any, Callable

import torch
from torch import nn

from trainers.models.common import image_shape
from trainers.models.weights import load_strict, pretrained_weights_path, read_pretrained_state
from trainers.spec.config import ModelConfig


def _builder(family: str) -> Callable[..., nn.Module]:
    """torchvision's constructor for `family`. Imported here, not at the top: torchvision.models pulls in
    torch._dynamo (about two seconds), which a process training only MLPs and CNNs (a search worker) never needs."""
    from torchvision import models as tvm

    builders: dict[str, Callable[..., nn.Module]] = {
        "resnet18": tvm.resnet18,
        "mobilenet_v3_small": tvm.mobilenet_v3_small,
        "efficientnet_b0": tvm.efficientnet_b0,
    }
    return builders[family]


# The classifier head: the only part left trainable under freeze_backbone.
HEAD_NAMES: dict[str, str] = {"resnet18": "fc", "mobilenet_v3_small": "classifier", "efficientnet_b0": "classifier"}
# Below this size an ImageNet stem (stride 2, plus ResNet's max-pool) throws away most of the image.
SMALL_IMAGE = 64


def build_vision(
    cfg: ModelConfig, input_shape: tuple[int, ...], num_classes: int, load_weights: bool = True
) -> nn.Module:
    """The torchvision model for cfg.family; with cfg.pretrained, ImageNet weights read from disk.

    load_weights=False builds the same architecture without reading the file (for parameter counts).
    """
    channels, h, w = image_shape(cfg.family, input_shape)
    family = cfg.family
    if cfg.pretrained:
        model = _builder(family)(weights=None)  # ImageNet-shaped, so the checkpoint loads strictly
        if load_weights:
            path = pretrained_weights_path(family, cfg.weights_path)
            load_strict(model, read_pretrained_state(family, cfg.weights_path), family, path)
        _replace_head(model, family, num_classes)
    else:
        model = _builder(family)(weights=None, num_classes=num_classes)
    _adapt_stem(model, family, channels, small=min(h, w) < SMALL_IMAGE, keep_weights=cfg.pretrained)
    _set_head_dropout(model, family, cfg.dropout)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            # mobilenet_v3 ships momentum 0.01, tuned for long ImageNet runs: on a few hundred steps its
            # running statistics stay near their start and evaluation is at chance level
            m.momentum = 0.1
    if cfg.freeze_backbone:
        head = HEAD_NAMES[family]
        for name, param in model.named_parameters():
            param.requires_grad_(name.split(".", 1)[0] == head)
    return model


def _replace_head(model: Any, family: str, num_classes: int) -> None:
    # `model` is a torchvision network: its head (fc, classifier) is an attribute nn.Module does not declare
    if family == "resnet18":
        model.fc = nn.Linear(model.fc.in_features, num_classes)
        return
    old = model.classifier[-1]
    new = nn.Linear(old.in_features, num_classes)
    # The same initialisation torchvision gives these heads when built from scratch.
    if family == "mobilenet_v3_small":
        nn.init.normal_(new.weight, 0.0, 0.01)
    else:
        bound = 1.0 / math.sqrt(num_classes)
        nn.init.uniform_(new.weight, -bound, bound)
    nn.init.zeros_(new.bias)
    model.classifier[-1] = new


def _set_head_dropout(model: Any, family: str, p: float) -> None:
    if family == "resnet18":
        # Always wrapped (even at p=0) so the state-dict keys do not depend on the dropout setting.
        model.fc = nn.Sequential(nn.Dropout(p), model.fc)
        return
    for module in model.classifier.modules():
        if isinstance(module, nn.Dropout):
            module.p = p


def _adapt_stem(model: Any, family: str, channels: int, small: bool, keep_weights: bool) -> None:
    """Fit the first conv to the input's channels and, for small images, keep full resolution.

    ResNet on small images gets the CIFAR stem: a 3×3 stride-1 conv and no max-pool. With pretrained
    weights its 7×7 filters are kept (at stride 1) instead, since a fresh 3×3 conv would discard them.
    """
    parent, attr = (model, "conv1") if family == "resnet18" else (model.features[0], "0")
    old: nn.Conv2d = getattr(parent, attr)
    # pairs of ints as torch keeps them (typed loosely there)
    kernel: Any = old.kernel_size
    stride: Any = old.stride
    padding: Any = old.padding
    if small:
        stride = (1, 1)
        if family == "resnet18":
            model.maxpool = nn.Identity()
            if not keep_weights:
                kernel, padding = (3, 3), (1, 1)
    if channels == old.in_channels and kernel == old.kernel_size and stride == old.stride:
        return
    new = nn.Conv2d(channels, old.out_channels, kernel, stride, padding, bias=old.bias is not None)
    with torch.no_grad():
        if keep_weights:
            new.weight.copy_(_rgb_filters_to(old.weight, channels))
            if old.bias is not None and new.bias is not None:
                new.bias.copy_(old.bias)
        else:
            nn.init.kaiming_normal_(new.weight, mode="fan_out", nonlinearity="relu")
            if new.bias is not None:
                nn.init.zeros_(new.bias)
    setattr(parent, attr, new)


def _rgb_filters_to(weight: torch.Tensor, channels: int) -> torch.Tensor:
    """Average the RGB filters and spread them over `channels` inputs.

    Scaling by 3/channels keeps a channel-constant image's activation equal to the RGB model's on a
    gray image, so the pretrained layers after the stem see inputs of the size they were trained on.
    """
    if channels == weight.shape[1]:
        return weight
    mean = weight.mean(dim=1, keepdim=True)
    return mean.repeat(1, channels, 1, 1) * (weight.shape[1] / channels)
