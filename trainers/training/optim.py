"""Optimizers from the config, with weight decay kept off biases and normalisation layers."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from trainers.spec.config import OptimConfig

_NORM_TYPES = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm, nn.modules.instancenorm._InstanceNorm)


def decayed_names(model: nn.Module) -> tuple[list[str], list[str]]:
    """Names of the trainable parameters weight decay applies to, and of those it would only shrink for nothing
    (biases and normalisation layers). Stacked members of an ensemble are grouped by these names too."""
    decay: list[str] = []
    no_decay: list[str] = []
    seen: set[int] = set()
    for prefix, module in model.named_modules():
        for name, p in module.named_parameters(recurse=False):
            if not p.requires_grad or id(p) in seen:
                continue
            seen.add(id(p))
            full = f"{prefix}.{name}" if prefix else name
            if isinstance(module, _NORM_TYPES) or name.endswith("bias") or p.ndim <= 1:
                no_decay.append(full)
            else:
                decay.append(full)
    return decay, no_decay


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Two groups: decayed weights, and biases/norm parameters that decay would only shrink for nothing."""
    named = dict(model.named_parameters())
    decay, no_decay = decayed_names(model)
    return named_groups(named, decay, no_decay, weight_decay)


def named_groups(
    params: Mapping[str, torch.Tensor], decay: list[str], no_decay: list[str], weight_decay: float
) -> list[dict]:
    groups = []
    if decay:
        groups.append({"params": [params[n] for n in decay], "weight_decay": weight_decay})
    if no_decay:
        groups.append({"params": [params[n] for n in no_decay], "weight_decay": 0.0})
    return groups


def build_optimizer(cfg: OptimConfig, model: nn.Module) -> torch.optim.Optimizer:
    return optimizer_for_groups(cfg, parameter_groups(model, cfg.weight_decay))


def optimizer_for_groups(cfg: OptimConfig, groups: list[dict], fast: bool = False) -> torch.optim.Optimizer:
    """The configured optimizer over parameter groups. `fast`: one fused (or multi-tensor) kernel per step,
    which is what a few large stacked tensors want; numerically the same update up to rounding."""
    speed: dict = {}
    if fast:
        speed = {"fused": True} if cfg.name in ("sgd", "adam", "adamw", "adagrad") else {"foreach": True}
    if cfg.name == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov, **speed)
    if cfg.name == "adam":
        return torch.optim.Adam(
            groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps, amsgrad=cfg.amsgrad, **speed
        )
    if cfg.name == "adamw":
        return torch.optim.AdamW(
            groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps, amsgrad=cfg.amsgrad, **speed
        )
    if cfg.name == "rmsprop":
        return torch.optim.RMSprop(
            groups, lr=cfg.lr, alpha=cfg.alpha, eps=cfg.eps, momentum=cfg.momentum, centered=cfg.centered, **speed
        )
    if cfg.name == "adagrad":
        return torch.optim.Adagrad(groups, lr=cfg.lr, lr_decay=cfg.lr_decay, eps=cfg.eps, **speed)
    raise ValueError(cfg.name)  # validated config never gets here


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
