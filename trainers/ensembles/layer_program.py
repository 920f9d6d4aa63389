"""A model's forward pass as a flat list of layer calls on tensors passed in, for vmap over stacked members.

torch.func.functional_call swaps every parameter into the module on each call; for the small models ensembles
stack, that bookkeeping costs more than the arithmetic. A Sequential tree of known layers is turned once into
steps that call the functional ops directly with the member's tensors. Anything else returns None, and the
caller uses functional_call.

Dropout multiplies by a mask passed in with the buffers (under the site's key), drawn outside vmap from each
member's own random stream exactly as F.dropout draws it, so a member trained together sees the masks it
would see trained alone. Without a mask (evaluation) dropout is the identity."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

Tensors = dict[str, torch.Tensor]
Step = Callable[[Tensors, Tensors, torch.Tensor], torch.Tensor]
# Layers without parameters or buffers: called as they are.
_PLAIN = (
    nn.Flatten,
    nn.ReLU,
    nn.GELU,
    nn.SiLU,
    nn.Tanh,
    nn.LeakyReLU,
    nn.ELU,
    nn.MaxPool2d,
    nn.AvgPool2d,
    nn.AdaptiveAvgPool2d,
    nn.Identity,
)


@dataclass
class DropoutSite:
    key: str  # where its mask goes among the buffers
    p: float
    shape: tuple[int, ...] | None = None  # one sample's shape there, learnt by a dry run (sample_shapes)


@dataclass
class Program:
    steps: list[Step]
    dropout: list[DropoutSite]  # in the order a forward pass reaches them


def layer_program(model: nn.Module) -> Program | None:
    program = Program([], [])
    return program if _compile(model, "", program) else None


def sample_shapes(program: Program, model: nn.Module, sample: tuple[int, ...]) -> None:
    """Learn the shape reaching each dropout site, from a pass on the meta device (nothing is computed)."""
    params = {n: torch.empty(t.shape, device="meta") for n, t in model.named_parameters()}
    buffers = {n: torch.empty(t.shape, dtype=t.dtype, device="meta") for n, t in model.named_buffers()}
    x = torch.empty((2, *sample), device="meta")  # two samples: batch norm refuses one when training
    for step in program.steps:
        x = step(params, buffers, x)


def run_program(program: Program, params: Tensors, buffers: Tensors, x: torch.Tensor) -> torch.Tensor:
    for step in program.steps:
        x = step(params, buffers, x)
    return x


def _dropout(site: DropoutSite) -> Step:
    def step(p: Tensors, b: Tensors, x: torch.Tensor) -> torch.Tensor:
        if site.shape is None:
            site.shape = tuple(x.shape[1:])
        mask = b.get(site.key)
        return x if mask is None else x * mask

    return step


def _compile(module: nn.Module, prefix: str, program: Program) -> bool:
    steps = program.steps
    if type(module) is nn.Sequential:
        return all(_compile(child, f"{prefix}{name}.", program) for name, child in module.named_children())
    if type(module) is nn.Dropout:
        if module.p > 0:  # F.dropout with p = 0 draws nothing either
            site = DropoutSite(f"{prefix}dropout-mask", float(module.p))
            program.dropout.append(site)
            steps.append(_dropout(site))
        return True
    if isinstance(module, _PLAIN):
        steps.append(_plain(module))
        return True
    bias = f"{prefix}bias" if getattr(module, "bias", None) is not None else None
    if type(module) is nn.Linear:
        steps.append(_linear(f"{prefix}weight", bias))
        return True
    if isinstance(module, nn.Conv2d) and type(module) is nn.Conv2d:
        steps.append(_conv(module, f"{prefix}weight", bias))
        return True
    if (
        isinstance(module, nn.modules.batchnorm._BatchNorm)
        and type(module) in (nn.BatchNorm1d, nn.BatchNorm2d)
        and module.track_running_stats
        and module.affine
        and module.momentum is not None
    ):
        steps.append(_batch_norm(module, prefix))
        return True
    return False


def _plain(m: nn.Module) -> Step:
    """A layer without parameters or buffers (activations, pooling, flatten): called as it is."""

    def step(p: Tensors, b: Tensors, x: torch.Tensor) -> torch.Tensor:
        return m(x)

    return step


def _linear(w: str, bias: str | None) -> Step:
    def step(p: Tensors, b: Tensors, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, p[w], p[bias] if bias else None)

    return step


def _conv(m: nn.Conv2d, w: str, bias: str | None) -> Step:
    def step(p: Tensors, b: Tensors, x: torch.Tensor) -> torch.Tensor:
        return m._conv_forward(x, p[w], p[bias] if bias else None)

    return step


def _batch_norm(m: nn.modules.batchnorm._BatchNorm, prefix: str) -> Step:
    """BatchNorm's forward with running statistics kept (as nn.BatchNorm does with a fixed momentum)."""
    names = [f"{prefix}{n}" for n in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")]
    momentum = float(m.momentum or 0.0)  # _compile takes batch norms with a fixed momentum only

    def step(p: Tensors, b: Tensors, x: torch.Tensor) -> torch.Tensor:
        if m.training:
            b[names[4]].add_(1)
        return F.batch_norm(x, b[names[2]], b[names[3]], p[names[0]], p[names[1]], m.training, momentum, m.eps)

    return step
