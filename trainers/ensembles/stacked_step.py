"""The Learner's batch step for members trained together (StackedModels): each member draws its own rows in its
own order (its own generator), has its own loss (cross-entropy with its own label smoothing, sample-weighted, or
squared error to its regression targets) plus L1, and its own gradient clipping; one vmapped forward, one backward
and one optimizer step serve them all. Members that are done can leave the stack between epochs (keep).

Per-member numbers are summed on the device and read once an epoch: no synchronisation per batch (a member whose
loss turns non-finite is found at the epoch's end by its DivergenceGuard; its own slices are all it can spoil).
The Learner's own train_loss and val hold the mean over the members with finite values, for the schedule's
reduce-on-plateau (only members trained on their own use it: see trainers/ensembles/member_fit.py)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Iterator

import torch
from torch.nn import functional as F

from trainers.data.bundle import Split, augment_batch
from trainers.ensembles.stacked_models import StackedModels
from trainers.spec.shapes import batches_per_epoch, drops_last_single
from trainers.training.batch_step import BatchStep, EvalResult

if TYPE_CHECKING:
    from trainers.training.loop import Learner


class StackedStep(BatchStep):
    def __init__(
        self,
        stacked: StackedModels,
        rows: torch.Tensor,
        gens: list[torch.Generator],
        *,
        weights: torch.Tensor | None = None,
        targets: torch.Tensor | None = None,
        val_targets: torch.Tensor | None = None,
        count_correct: bool = False,
        smoothing: list[float] | None = None,
    ) -> None:
        super().__init__()
        self.stacked = stacked
        self.rows = rows  # (K, n): the training rows each member draws from
        self.gens = gens  # each member's batch order (and augmentation)
        self.weights = weights  # (K, n) loss weight per row, or None
        self.targets = targets  # (K, n, classes) regression targets, or None
        self.val_targets = val_targets  # (K, val samples, classes) for regression members
        self.count_correct = count_correct and targets is None  # only early stopping on train_acc needs it
        # each member's own label smoothing (None: the settings' one for all); unweighted classifiers only
        self.smoothing = None if smoothing is None else torch.tensor(smoothing, device=rows.device)
        if self.smoothing is not None and (weights is not None or targets is not None):
            raise ValueError("per-member label smoothing is for unweighted classifiers")
        self.train_losses: list[float] = []
        self.train_accs: list[float] | None = None
        self.val_losses: list[float] | None = None
        self.val_accs: list[float] | None = None

    def bind(self, learner: Learner) -> None:
        self._plain: torch.Tensor | None = None
        self._training = False

    # ---- the batch source ---------------------------------------------------------------
    def steps_per_epoch(self, learner: Learner) -> int:
        return batches_per_epoch(self.rows.shape[1], learner.settings.batch_size, True)

    def set_training(self, learner: Learner, on: bool) -> None:
        self.stacked.train(on)
        self._training = on

    def batches(self, learner: Learner) -> Iterator[tuple[torch.Tensor, Any]]:
        """(K, B, ...) inputs and (labels, positions): a batch per member from its own permutation of its rows."""
        train, s = learner.data.train, learner.settings
        assert train.x is not None and train.y is not None
        n, batch = self.rows.shape[1], s.batch_size
        last_start = n - 1 if drops_last_single(n, batch, True) else n  # as iter_batches drops a single sample
        augment = learner.data.is_image and (s.augment_flip or s.augment_crop_padding > 0)
        perms = torch.stack([torch.randperm(n, generator=g) for g in self.gens]).to(learner.device)
        for start in range(0, last_start, batch):
            pos = perms[:, start : start + batch]
            idx = torch.gather(self.rows, 1, pos)
            xb, yb = train.x[idx], train.y[idx]
            if augment:
                xb = torch.stack(
                    [augment_batch(xb[k], s.augment_flip, s.augment_crop_padding, g) for k, g in enumerate(self.gens)]
                )
            yield xb, (yb, pos)

    # ---- the stages ---------------------------------------------------------------------
    def pred(self, learner: Learner, xb: torch.Tensor) -> torch.Tensor:
        return self.stacked(xb)

    def loss(self, learner: Learner, pred: torch.Tensor, yb: Any) -> torch.Tensor:
        """Each member's loss, shape (K,); the epoch's training loss is its plain part (no smoothing, no L1)."""
        labels, pos = yb
        s, k = learner.settings, self.stacked.k
        if self.targets is not None:
            wanted = torch.gather(self.targets, 1, pos[..., None].expand(-1, -1, pred.shape[2]))
            loss = ((pred - wanted) ** 2).mean(dim=(1, 2))
            self._plain = loss
        elif self.smoothing is not None:
            loss = self._smoothed_loss(pred, labels)
        else:
            per_sample = F.cross_entropy(
                pred.flatten(0, 1), labels.flatten(), reduction="none", label_smoothing=s.label_smoothing
            ).view(k, -1)
            loss = (
                (per_sample * torch.gather(self.weights, 1, pos)).mean(1)
                if self.weights is not None
                else per_sample.mean(1)
            )
            self._plain = (
                loss
                if s.label_smoothing == 0 and self.weights is None
                else F.cross_entropy(pred.detach().flatten(0, 1), labels.flatten(), reduction="none")
                .view(k, -1)
                .mean(1)
            )
        if s.l1 > 0:
            loss = loss + s.l1 * self.stacked.l1_penalty()
        return loss

    def _smoothed_loss(self, pred: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Cross-entropy with member k's own label smoothing e_k, as F.cross_entropy computes it:
        (1 - e_k) * nll + e_k / classes * (-sum of log-probabilities); the plain part is the nll."""
        assert self.smoothing is not None
        logp = F.log_softmax(pred, dim=2)
        nll = -logp.gather(2, labels[..., None]).squeeze(2).mean(1)
        spread = -logp.sum(2).mean(1)
        self._plain = nll
        return (1 - self.smoothing) * nll + spread * (self.smoothing / pred.shape[2])

    def keep(self, rows: list[int]) -> None:
        """Keep only the members at `rows`: their rows, batch orders, dropout streams and weights, in that order."""
        index = torch.tensor(rows, dtype=torch.long, device=self.rows.device)
        self.stacked.keep(rows)
        self.rows = self.rows[index]
        self.gens = [self.gens[r] for r in rows]
        for name in ("weights", "targets", "val_targets", "smoothing"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, value[index.to(value.device)])

    def backward(self, learner: Learner, loss: torch.Tensor) -> None:
        loss.sum().backward()  # each member's slices get its own loss's gradient

    def step(self, learner: Learner) -> None:
        if learner.settings.grad_clip > 0:
            clip_each(self.stacked.parameters(), learner.settings.grad_clip, self.stacked.k)
        self.stacked.decay_weights(learner.lr)
        learner.optimizer.step()

    # ---- the epoch's totals -------------------------------------------------------------
    def begin_epoch(self, learner: Learner) -> None:
        k = self.stacked.k
        self._losses = torch.zeros(k, device=learner.device)
        self._corrects = torch.zeros(k, dtype=torch.float64, device=learner.device)
        self._seen = 0

    def record(self, learner: Learner) -> None:
        labels, pos = learner.yb
        n = int(pos.shape[1])
        learner.batch_size_now = n
        if self._plain is not None:
            self._losses.add_(self._plain.detach(), alpha=n)
        if self.count_correct:
            self._corrects += (learner.pred.detach().argmax(2) == labels).sum(1)
        self._seen += n

    def end_epoch(self, learner: Learner) -> None:
        seen = max(1, self._seen)
        self.train_losses = (self._losses / seen).tolist()
        self.train_accs = None if self.targets is not None else (self._corrects / seen).tolist()
        learner.train_loss = finite_mean(self.train_losses)
        learner.train_acc = finite_mean(self.train_accs) if self.train_accs is not None else math.nan

    # ---- evaluation ---------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, learner: Learner, split: Split | None) -> EvalResult | None:
        """Each member's validation loss (cross-entropy, or squared error to its targets) and accuracy."""
        self.val_losses = self.val_accs = None
        if split is None or len(split) == 0:
            return None
        assert split.x is not None and split.y is not None
        k, size = self.stacked.k, max(learner.settings.batch_size, 1024)
        was_training = self._training
        self.set_training(learner, False)
        loss = torch.zeros(k, dtype=torch.float64, device=split.x.device)
        correct = torch.zeros(k, dtype=torch.float64, device=split.x.device)
        for i in range(0, len(split), size):
            learner("before_eval_batch")  # a stop or pause is honoured during long evaluations too
            out = self.stacked.shared(split.x[i : i + size]).float()
            y = split.y[i : i + size]
            if self.val_targets is not None:
                loss += ((out - self.val_targets[:, i : i + size]) ** 2).mean(2).sum(1).double()
            else:
                loss += F.cross_entropy(out.flatten(0, 1), y.repeat(k), reduction="none").view(k, -1).sum(1).double()
                correct += (out.argmax(2) == y).sum(1).double()
        if was_training:
            self.set_training(learner, True)
        n = len(split)
        self.val_losses = (loss / n).tolist()
        self.val_accs = None if self.val_targets is not None else (correct / n).tolist()
        accs = self.val_accs
        return EvalResult(finite_mean(self.val_losses), finite_mean(accs) if accs is not None else math.nan, n)


def finite_mean(values: list[float]) -> float:
    """The mean of the finite values (inf when there are none)."""
    kept = [v for v in values if math.isfinite(v)]
    return sum(kept) / len(kept) if kept else math.inf


def clip_each(params: list[torch.Tensor], max_norm: float, k: int) -> None:
    """clip_grad_norm_ per member: each member's gradient norm is over its own slices only."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    norms = torch.stack([g.reshape(k, -1).pow(2).sum(1) for g in grads]).sum(0).sqrt()
    scale = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(scale.view(k, *([1] * (g.dim() - 1))))
