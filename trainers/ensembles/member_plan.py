"""What each new member trains on, and what comes back: plain records shared by the member trainers."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class MemberPlan:
    seed: int  # initial weights and batch order
    indices: torch.Tensor | None = None  # rows of the training split it trains on (None: all, in order)
    weights: torch.Tensor | None = None  # one loss weight per row of `indices` (boosting), mean 1
    targets: torch.Tensor | None = None  # (rows, classes) regression targets per row (gradient boosting)
    val_targets: torch.Tensor | None = None  # (val samples, classes): the validation score of a regression member

    @property
    def plain(self) -> bool:
        """A plain classifier on unweighted samples: what the ordinary training loop trains."""
        return self.weights is None and self.targets is None


@dataclass
class FittedMember:
    state: dict[str, torch.Tensor]  # the weights it ends with (its best epoch's, as a training run scores)
    status: str  # completed, stopped, diverged
    epochs_run: int
    best_epoch: int | None
    message: str = ""
