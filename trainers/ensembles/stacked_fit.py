"""Members of one architecture trained together: one vmapped forward, one backward, one optimizer step per batch
for all of them (StackedModels). Each member keeps what it would have had alone: its own initial weights, its
own rows and batch order (its own generator), its own loss, gradient clipping, best epoch and early stop.

Also trains single members the ordinary loop cannot: weighted samples (AdaBoost) and regression targets
(gradient boosting)."""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from trainers.training.callbacks import resolve_mode
from trainers.spec.config import RunConfig
from trainers.data.bundle import DatasetBundle, augment_batch
from trainers.spec.shapes import batches_per_epoch, drops_last_single
from trainers.ensembles.member_events import progress
from trainers.ensembles.member_plan import FittedMember, MemberPlan
from trainers.ensembles.member_tracking import MemberTracker
from trainers.ensembles.stacked_models import StackedModels
from trainers.spec.errors import DataError
from trainers.spec.events import RunControl, Sink, StopRequested
from trainers.models import build_model
from trainers.training.optim import set_lr
from trainers.spec.schedules import scheduled_lr


def fit_stacked(cfg: RunConfig, data: DatasetBundle, plans: list[MemberPlan], device: torch.device, *,
                sink: Sink, control: RunControl, first: int = 0) -> list[FittedMember]:
    """Train every plan at once; returns one FittedMember per plan."""
    train = data.train
    if not train.in_memory:
        raise DataError("training members together needs the training split in memory: raise "
                        "data.in_memory_limit_mb, or train one member at a time")
    assert train.x is not None and train.y is not None
    n_all = len(train)
    rows = torch.stack([p.indices if p.indices is not None else torch.arange(n_all) for p in plans]).to(device)
    n = rows.shape[1]
    models, streams = [], []
    for p in plans:
        torch.manual_seed(p.seed)  # as the ordinary loop builds a member: same seed, same initial weights
        models.append(build_model(cfg.model, data.input_shape, data.num_classes).to(device))
        streams.append(torch.get_rng_state())  # where that member's dropout masks would come from
    stacked = StackedModels(models)
    stacked.follow_streams(streams)
    optimizer = stacked.optimizer(cfg.optim)
    gens = [torch.Generator().manual_seed(p.seed) for p in plans]
    weights = _stack_or_none([p.weights for p in plans], device)
    targets = _stack_or_none([p.targets for p in plans], device)
    val_targets = _stack_or_none([p.val_targets for p in plans], device)
    regression = targets is not None
    es = cfg.early_stop
    monitor = "val_loss" if regression and es.monitor.endswith("acc") else es.monitor
    tracker = MemberTracker(cfg, len(plans), monitor, resolve_mode(monitor, es.mode))
    t = cfg.train
    batch, epochs = t.batch_size, t.epochs
    steps_per_epoch = batches_per_epoch(n, batch, True)
    last_start = n - 1 if drops_last_single(n, batch, True) else n
    plateau_scale, plateau = 1.0, _Plateau(cfg)
    step, last_lr = 0, None
    count_correct = monitor == "train_acc" and not regression
    for epoch in range(1, epochs + 1):
        stacked.train(True)
        perms = torch.stack([torch.randperm(n, generator=g) for g in gens]).to(device)
        # summed on the device and read once an epoch: no synchronisation per batch (a member whose loss turns
        # non-finite is found at the epoch's end; its own slices are all it can spoil)
        loss_sum = torch.zeros(len(plans), device=device)
        correct = torch.zeros(len(plans), dtype=torch.float64, device=device)
        seen = 0
        try:
            for start in range(0, last_start, batch):
                control.checkpoint()
                lr = scheduled_lr(cfg, step, steps_per_epoch, plateau_scale)
                if lr != last_lr:
                    set_lr(optimizer, lr)
                    last_lr = lr
                pos = perms[:, start:start + batch]
                idx = torch.gather(rows, 1, pos)
                xb, yb = train.x[idx], train.y[idx]
                if data.is_image and (cfg.data.augment_flip or cfg.data.augment_crop_padding > 0):
                    xb = torch.stack([augment_batch(xb[k], cfg.data.augment_flip, cfg.data.augment_crop_padding,
                                                    gens[k]) for k in range(len(plans))])
                out = stacked(xb)
                if regression:
                    assert targets is not None
                    plain = ((out - torch.gather(targets, 1, pos[..., None].expand(-1, -1, out.shape[2]))) ** 2
                             ).mean(dim=(1, 2))
                    loss = plain
                else:
                    per_sample = F.cross_entropy(out.flatten(0, 1), yb.flatten(), reduction="none",
                                                 label_smoothing=t.label_smoothing).view(len(plans), -1)
                    loss = (per_sample * torch.gather(weights, 1, pos)).mean(1) if weights is not None \
                        else per_sample.mean(1)
                    plain = loss if t.label_smoothing == 0 and weights is None else F.cross_entropy(
                        out.detach().flatten(0, 1), yb.flatten(), reduction="none").view(len(plans), -1).mean(1)
                if t.l1 > 0:
                    loss = loss + t.l1 * stacked.l1_penalty()
                optimizer.zero_grad(set_to_none=True)
                loss.sum().backward()
                if t.grad_clip > 0:
                    _clip_each(stacked.parameters(), t.grad_clip, len(plans))
                stacked.decay_weights(lr)
                optimizer.step()
                step += 1
                loss_sum.add_(plain.detach(), alpha=pos.shape[1])
                if count_correct:  # only early stopping on train_acc needs it
                    correct += (out.detach().argmax(2) == yb).sum(1)
                seen += pos.shape[1]
        except StopRequested:
            tracker.stop_all(f"stopped by request at epoch {epoch}")
            break
        stacked.train(False)
        try:
            val_loss, val_acc = _evaluate(stacked, data, batch, val_targets, control)
        except StopRequested:
            tracker.stop_all(f"stopped by request at epoch {epoch}")
            break
        train_loss = (loss_sum / max(1, seen)).tolist()
        train_acc = None if regression else (correct / max(1, seen)).tolist()
        tracker.check_finite(train_loss, epoch)
        for k in tracker.active():
            sink.emit(progress(first + k, epoch, epochs, train_loss[k], val_loss[k],
                               None if val_acc is None else val_acc[k]))
        tracker.after_epoch(epoch, val_loss, val_acc, train_loss, train_acc, stacked)
        if cfg.schedule.name == "plateau":
            plateau_scale = plateau.scale_after(val_loss, tracker.active())
        if tracker.all_done:
            break
    return tracker.finish(stacked)


def _stack_or_none(values: list[torch.Tensor | None], device: torch.device) -> torch.Tensor | None:
    if all(v is None for v in values):
        return None
    if any(v is None for v in values):
        raise ValueError("members trained together all have sample weights or targets, or none do")
    return torch.stack(values).to(device)  # type: ignore[arg-type]


def _clip_each(params: list[torch.Tensor], max_norm: float, k: int) -> None:
    """clip_grad_norm_ per member: each member's gradient norm is over its own slices only."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    norms = torch.stack([g.reshape(k, -1).pow(2).sum(1) for g in grads]).sum(0).sqrt()
    scale = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(scale.view(k, *([1] * (g.dim() - 1))))


@torch.no_grad()
def _evaluate(stacked: StackedModels, data: DatasetBundle, batch: int, val_targets: torch.Tensor | None,
              control: RunControl) -> tuple[list[float], list[float] | None]:
    """Each member's validation loss (cross-entropy, or squared error to its targets) and accuracy."""
    val = data.val
    assert val.x is not None and val.y is not None
    size = max(batch, 1024)
    loss = torch.zeros(stacked.k, dtype=torch.float64, device=val.x.device)
    correct = torch.zeros(stacked.k, dtype=torch.float64, device=val.x.device)
    for i in range(0, len(val), size):
        control.checkpoint()  # a stop or pause is honoured during long evaluations too
        out = stacked.shared(val.x[i:i + size]).float()
        y = val.y[i:i + size]
        if val_targets is not None:
            loss += ((out - val_targets[:, i:i + size]) ** 2).mean(2).sum(1).double()
        else:
            loss += F.cross_entropy(out.flatten(0, 1), y.repeat(stacked.k), reduction="none").view(
                stacked.k, -1).sum(1).double()
            correct += (out.argmax(2) == y).sum(1).double()
    n = len(val)
    return (loss / n).tolist(), None if val_targets is not None else (correct / n).tolist()


class _Plateau:
    """Reduce-on-plateau for a member trained on its own here (a boosting member): as the ordinary loop's, on its
    validation loss. Groups of members never use it: they share one rate (trainers/ensembles/member_fit.py)."""

    def __init__(self, cfg: RunConfig) -> None:
        self.cfg = cfg
        self.best = math.inf
        self.since = 0
        self.scale = 1.0

    def scale_after(self, val_loss: list[float], active: list[int]) -> float:
        values = [val_loss[k] for k in active if math.isfinite(val_loss[k])]
        mean = sum(values) / len(values) if values else math.inf
        if mean < self.best:
            self.best, self.since = mean, 0
        else:
            self.since += 1
            if self.since > self.cfg.schedule.plateau_patience:
                self.scale *= self.cfg.schedule.plateau_factor
                self.since = 0
        return self.scale
