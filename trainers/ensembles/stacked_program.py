"""A stack's forward pass without vmap, for models made only of layers with a batched form: linear layers (one
batched matrix product for every member), flatten, activations, dropout (the member's mask, as in layer_program)
and 1-d batch norm (each member's channels side by side, so one call keeps every member's own statistics).

For the small MLPs stacked for ensembles and vectorised trials, vmap's bookkeeping on every operation (forward and
backward) costs more than the arithmetic: this path runs the same operations on (K, B, ...) tensors directly. Any
other layer (convolutions, pooling) returns None, and StackedModels vmaps the layer program instead."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable

import torch
from torch import nn
from torch.nn import functional as F

Tensors = Mapping[str, torch.Tensor]
Step = Callable[[Tensors, Tensors, torch.Tensor], torch.Tensor]
_ELEMENTWISE = (nn.ReLU, nn.GELU, nn.SiLU, nn.Tanh, nn.LeakyReLU, nn.ELU)


def batched_program(model: nn.Module) -> list[Step] | None:
    """The model's layers as steps on (K, B, ...) tensors with stacked weights, or None where one has no such form."""
    steps: list[Step] = []
    return steps if _compile(model, "", steps) else None


def run_batched(steps: list[Step], params: Tensors, buffers: Tensors, x: torch.Tensor) -> torch.Tensor:
    for step in steps:
        x = step(params, buffers, x)
    return x


def _compile(module: nn.Module, prefix: str, steps: list[Step]) -> bool:
    if type(module) is nn.Sequential:
        return all(_compile(child, f"{prefix}{name}.", steps) for name, child in module.named_children())
    if type(module) is nn.Dropout:
        if module.p > 0:  # the same key as layer_program's site: StackedModels draws the masks for both
            steps.append(_dropout(f"{prefix}dropout-mask"))
        return True
    if type(module) is nn.Identity:
        return True
    if type(module) is nn.Flatten and module.start_dim == 1 and module.end_dim == -1:
        steps.append(lambda p, b, x: x.flatten(2))
        return True
    if isinstance(module, _ELEMENTWISE):
        steps.append(_elementwise(module))
        return True
    if type(module) is nn.Linear:
        steps.append(_linear(f"{prefix}weight", f"{prefix}bias" if module.bias is not None else None))
        return True
    if type(module) is nn.BatchNorm1d and module.track_running_stats and module.affine and module.momentum is not None:
        steps.append(_batch_norm(module, prefix))
        return True
    return False


def _elementwise(m: nn.Module) -> Step:
    def step(p: Tensors, b: Tensors, x: torch.Tensor) -> torch.Tensor:
        return m(x)

    return step


def _dropout(key: str) -> Step:
    def step(p: Tensors, b: Tensors, x: torch.Tensor) -> torch.Tensor:
        mask = b.get(key)
        return x if mask is None else x * mask

    return step


class _StackedLinear(torch.autograd.Function):
    """x (K, B, in) @ weight (K, out, in)ᵀ + bias (K, out), with the gradients computed as F.linear's own backward
    computes them for one member (addmm's: the weight's as gradᵀ @ x, the bias's as a sum over the batch). Autograd's
    bmm backward would take xᵀ @ grad instead: the same numbers summed in another order, which Adam on a batch-norm
    network amplifies into visibly different runs."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        w_t = weight.transpose(1, 2)
        return torch.bmm(x, w_t) if bias is None else torch.baddbmm(bias.unsqueeze(1), x, w_t)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, weight = ctx.saved_tensors
        grad_x = grad.bmm(weight) if ctx.needs_input_grad[0] else None
        grad_w = grad.transpose(1, 2).bmm(x) if ctx.needs_input_grad[1] else None
        grad_b = grad.sum(1) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return grad_x, grad_w, grad_b


def _linear(w: str, bias: str | None) -> Step:
    """Each member's own linear layer (_StackedLinear)."""

    def step(p: Tensors, b: Tensors, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3:
            raise ValueError("a stacked linear layer takes (members, batch, features)")
        return _StackedLinear.apply(x, p[w], p[bias] if bias else None)

    return step


def _batch_norm(m: nn.BatchNorm1d, prefix: str) -> Step:
    """(K, B, C): the members' channels side by side as K*C channels of one batch norm, whose statistics (and
    running statistics, views of the stacked buffers) are then each member's own."""
    names = [f"{prefix}{n}" for n in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")]
    momentum = float(m.momentum or 0.0)

    def step(p: Tensors, b: Tensors, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3:
            raise ValueError("a stacked 1-d batch norm takes (members, batch, features)")
        k, n, c = x.shape
        if m.training:
            b[names[4]].add_(1)
        flat = x.transpose(0, 1).reshape(n, k * c)
        weight, bias = p[names[0]].reshape(-1), p[names[1]].reshape(-1)
        mean, var = b[names[2]].view(-1), b[names[3]].view(-1)
        out = F.batch_norm(flat, mean, var, weight, bias, m.training, momentum, m.eps)
        # contiguous again, so the next layer's products (and their gradients) take the BLAS path a member's own
        # model takes: a transposed operand sums in another order
        return out.view(n, k, c).transpose(0, 1).contiguous()

    return step
