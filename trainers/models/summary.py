"""Parameter counts and a short per-layer text summary of any model."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from trainers.spec.errors import ModelError


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameter elements (shared parameters counted once)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def model_summary(model: nn.Module, input_shape: tuple[int, ...]) -> str:
    """One line per top-level child (type, output shape per sample, parameters), then the totals.

    Shapes come from one forward pass of a zero batch of 2 in eval mode, on the model's own device
    (the meta device gives shapes without computing anything).
    """
    shapes: dict[str, str] = {}
    hooks = [child.register_forward_hook(_recorder(name, shapes)) for name, child in model.named_children()]
    first = next(model.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros((2, *input_shape), device=device, dtype=dtype))
    except (RuntimeError, ValueError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(
            f"{type(model).__name__} cannot run on samples of shape {tuple(input_shape)}: {first_line}"
        ) from None
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    rows = [("layer", "type", "output", "parameters")]
    for name, child in model.named_children():
        params = sum(p.numel() for p in child.parameters())
        rows.append((name, type(child).__name__, shapes.get(name, "-"), f"{params:,}"))
    w = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [f"{r[0]:<{w[0]}}  {r[1]:<{w[1]}}  {r[2]:<{w[2]}}  {r[3]:>{w[3]}}" for r in rows]
    lines.append(f"total parameters: {count_parameters(model):,}")
    lines.append(f"trainable parameters: {count_parameters(model, trainable_only=True):,}")
    return "\n".join(lines)


def _recorder(name: str, shapes: dict[str, str]) -> Any:
    def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
        if isinstance(output, (tuple, list)) and output:
            output = output[0]
        shapes[name] = str(tuple(output.shape[1:])) if isinstance(output, torch.Tensor) else "?"

    return hook
