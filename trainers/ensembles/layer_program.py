"""A model's forward pass as a flat list of layer calls on tensors passed in, for vmap over stacked members.

torch.func.functional_call swaps every parameter into the module on each call; for the small models ensembles
stack, that bookkeeping costs more than the arithmetic. A Sequential tree of known layers is turned once into
steps that call the functional ops directly with the member's tensors. Anything else returns None, and the
caller uses functional_call."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

Tensors = dict[str, torch.Tensor]
Step = Callable[[Tensors, Tensors, torch.Tensor], torch.Tensor]
# Layers without parameters or buffers: called as they are.
_PLAIN = (nn.Flatten, nn.ReLU, nn.GELU, nn.SiLU, nn.Tanh, nn.LeakyReLU, nn.ELU, nn.Dropout, nn.MaxPool2d,
          nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.Identity)


def layer_program(model: nn.Module) -> list[Step] | None:
    steps: list[Step] = []
    return steps if _compile(model, "", steps) else None


def run_program(steps: list[Step], params: Tensors, buffers: Tensors, x: torch.Tensor) -> torch.Tensor:
    for step in steps:
        x = step(params, buffers, x)
    return x


def _compile(module: nn.Module, prefix: str, steps: list[Step]) -> bool:
    if type(module) is nn.Sequential:
        return all(_compile(child, f"{prefix}{name}.", steps) for name, child in module.named_children())
    if isinstance(module, _PLAIN):
        steps.append(lambda p, b, x, m=module: m(x))
        return True
    if type(module) is nn.Linear:
        w, bias = f"{prefix}weight", f"{prefix}bias" if module.bias is not None else None
        steps.append(lambda p, b, x: F.linear(x, p[w], p[bias] if bias else None))
        return True
    if type(module) is nn.Conv2d:
        w, bias = f"{prefix}weight", f"{prefix}bias" if module.bias is not None else None
        steps.append(lambda p, b, x, m=module: m._conv_forward(x, p[w], p[bias] if bias else None))
        return True
    if type(module) in (nn.BatchNorm1d, nn.BatchNorm2d) and module.track_running_stats and module.affine \
            and module.momentum is not None:
        steps.append(_batch_norm(module, prefix))
        return True
    return False


def _batch_norm(m: nn.modules.batchnorm._BatchNorm, prefix: str) -> Step:
    """BatchNorm's forward with running statistics kept (as nn.BatchNorm does with a fixed momentum)."""
    names = [f"{prefix}{n}" for n in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")]

    def step(p: Tensors, b: Tensors, x: torch.Tensor) -> torch.Tensor:
        if m.training:
            b[names[4]].add_(1)
        return F.batch_norm(x, b[names[2]], b[names[3]], p[names[0]], p[names[1]], m.training, m.momentum, m.eps)

    return step
