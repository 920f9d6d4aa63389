"""A member as a module again (its model config and weights), and what it predicts on a split."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from trainers.data.bundle import Split, iter_batches
from trainers.models import build_model
from trainers.spec.config import ModelConfig
from trainers.spec.errors import ModelError
from trainers.spec.events import RunControl


@dataclass
class Member:
    label: str
    trial_id: int | None
    model: ModelConfig
    state: dict[str, torch.Tensor]


def member_module(member: Member, input_shape: tuple[int, ...], num_classes: int, device: torch.device) -> nn.Module:
    """The member's architecture with its weights, in eval mode. Pretrained-weight files are not read: the
    member's own weights replace them."""
    cfg = dataclasses.replace(member.model, pretrained=False, freeze_backbone=False, weights_path="")
    model = build_model(cfg, input_shape, num_classes)
    try:
        model.load_state_dict(member.state)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise ModelError(f"{member.label}: its weights do not fit its model config ({first})") from None
    return model.to(device).eval()


@torch.no_grad()
def outputs(
    model: nn.Module, split: Split, device: torch.device, control: RunControl | None = None, batch: int = 1024
) -> np.ndarray:
    """Raw outputs (logits) for every sample of the split, in order, as float64. A stop request is honoured
    between batches (StopRequested)."""
    parts = []
    for xb, _ in iter_batches(split, batch, shuffle=False, gen=torch.Generator(), device=device):
        if control is not None:
            control.checkpoint()
        parts.append(model(xb).double().cpu())
    if not parts:
        return np.zeros((0, 0))
    return torch.cat(parts).numpy()


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def labels(split: Split | None) -> np.ndarray | None:
    """The split's labels in order (streamed splits are read once)."""
    if split is None:
        return None
    if split.in_memory:
        assert split.y is not None
        return split.y.cpu().numpy().astype(np.int64)
    ys = [yb for _, yb in iter_batches(split, 1024, shuffle=False, gen=torch.Generator(), device=torch.device("cpu"))]
    return torch.cat(ys).numpy().astype(np.int64)
