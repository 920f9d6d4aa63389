"""Train new members: bagging (bootstrap samples, trained together), AdaBoost SAMME (sample weights) and gradient
boosting on logits (residual targets), each member after the one it corrects. Snapshot ensembles live in
trainers/ensembles/snapshot.py."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from trainers.data.bundle import DatasetBundle
from trainers.ensembles.boosting_math import STOP_CHANCE, gb_residual, line_search, samme_step
from trainers.ensembles.member_fit import can_vectorise, fit_members
from trainers.ensembles.member_models import Member, labels, member_module, outputs
from trainers.ensembles.member_plan import FittedMember, MemberPlan
from trainers.spec.config import RunConfig
from trainers.spec.ensemble_settings import EnsembleSettings
from trainers.spec.errors import DataError
from trainers.spec.events import RunControl, Sink


@dataclass
class NewMembers:
    members: list[Member]
    combiner: str  # how trainers/ensembles/ensemble_file.py combines them
    weights: list[float] | None = None
    statuses: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # why boosting stopped early, which members diverged, ...
    member_note: str = ""  # what a member's row means, when it is not a model on its own
    stopped: bool = False


def member_label(k: int) -> str:
    return f"member {k + 1}"


def planned_vectorised(cfg: RunConfig, settings: EnsembleSettings, data: DatasetBundle, device: torch.device) -> bool:
    return settings.method == "bagging" and settings.vectorise and can_vectorise(cfg, data, settings.members, device)


def _boost_member(
    cfg: RunConfig,
    data: DatasetBundle,
    plan: MemberPlan,
    k: int,
    device: torch.device,
    sink: Sink,
    control: RunControl,
    out: NewMembers,
) -> tuple[Member, FittedMember, nn.Module, np.ndarray] | None:
    """Train boosting member k alone; its module and training-split outputs, or None when boosting must end here
    (a stop request, or a member that diverged or predicts non-numbers: it is never kept; the note says why)."""
    fitted = fit_members(cfg, data, [plan], device, sink=sink, control=control, vectorise=False, first=k)[0]
    if fitted.status == "stopped":
        out.stopped = True
        return None
    if fitted.status == "diverged" and fitted.best_epoch is None:
        out.notes.append(f"boosting stopped at {member_label(k)}: it diverged ({fitted.message})")
        return None
    member = Member(member_label(k), None, cfg.model, fitted.state)
    module = member_module(member, data.input_shape, data.num_classes, device)
    train_out = outputs(module, data.train, device, control)
    if not np.isfinite(train_out).all():
        out.notes.append(f"boosting stopped at {member_label(k)}: its outputs are not finite numbers")
        return None
    return member, fitted, module, train_out


def _as_members(cfg: RunConfig, fitted: list[FittedMember], first: int = 0) -> list[Member]:
    return [Member(member_label(first + k), None, cfg.model, f.state) for k, f in enumerate(fitted)]


def _usable(fitted: list[FittedMember]) -> list[int]:
    """Members with weights worth combining: a diverged member without a good epoch is left out."""
    return [k for k, f in enumerate(fitted) if f.status != "diverged" or f.best_epoch is not None]


def bagging(
    cfg: RunConfig,
    data: DatasetBundle,
    settings: EnsembleSettings,
    device: torch.device,
    *,
    sink: Sink,
    control: RunControl,
) -> NewMembers:
    """Each member on its own bootstrap sample (n draws with replacement), seeds seed, seed+1, …"""
    n = len(data.train)
    gen = torch.Generator().manual_seed(cfg.train.seed)
    plans = [MemberPlan(cfg.train.seed + k, torch.randint(0, n, (n,), generator=gen)) for k in range(settings.members)]
    fitted = fit_members(cfg, data, plans, device, sink=sink, control=control, vectorise=settings.vectorise)
    return _collect(cfg, fitted, "soft", None)


def _collect(cfg: RunConfig, fitted: list[FittedMember], combiner: str, weights: list[float] | None) -> NewMembers:
    keep = _usable(fitted)
    notes = [
        f"{member_label(k)} diverged before its first epoch ended and is left out"
        for k in range(len(fitted))
        if k not in keep
    ]
    members = [m for k, m in enumerate(_as_members(cfg, fitted)) if k in keep]
    return NewMembers(
        members,
        combiner,
        [weights[k] for k in keep] if weights else None,
        [fitted[k].status for k in keep],
        notes,
        stopped=any(f.status == "stopped" for f in fitted),
    )


def _in_memory(data: DatasetBundle, method: str) -> None:
    if not data.train.in_memory:
        raise DataError(
            f"{method} needs the training split in memory (each member is scored on it): raise "
            f"data.in_memory_limit_mb or use a smaller dataset"
        )


def adaboost(
    cfg: RunConfig,
    data: DatasetBundle,
    settings: EnsembleSettings,
    device: torch.device,
    *,
    sink: Sink,
    control: RunControl,
) -> NewMembers:
    """Multi-class AdaBoost (SAMME): each member trains on the samples weighted by its predecessors' mistakes."""
    _in_memory(data, "AdaBoost")
    y = labels(data.train)
    assert y is not None
    n, classes = len(y), data.num_classes
    weights = np.full(n, 1.0 / n)
    out = NewMembers([], "hard", [])
    for k in range(settings.members):
        plan = MemberPlan(cfg.train.seed + k, weights=torch.as_tensor(weights * n, dtype=torch.float32))
        trained = _boost_member(cfg, data, plan, k, device, sink, control, out)
        if trained is None:
            break
        member, fitted, _module, train_out = trained
        wrong = train_out.argmax(1) != y
        step = samme_step(weights, wrong, classes, settings.boost_rate)
        if step.stop == STOP_CHANCE:
            out.notes.append(
                f"boosting stopped at {member_label(k)}: its weighted training error "
                f"{step.error:.3f} is no better than chance"
            )
            break
        out.members.append(member)
        out.weights.append(float(step.alpha))  # type: ignore[union-attr]
        out.statuses.append(fitted.status)
        if step.stop:
            out.notes.append(f"boosting stopped at {member_label(k)}: it makes no training error")
            break
        weights = step.weights
    return out


def gradient_boost(
    cfg: RunConfig,
    data: DatasetBundle,
    settings: EnsembleSettings,
    device: torch.device,
    *,
    sink: Sink,
    control: RunControl,
) -> NewMembers:
    """Friedman's gradient boosting on logits: member k regresses the residual one_hot(y) − softmax(F) of the
    members before it; its step is the line-searched rho (times boost_rate) minimising the training loss."""
    _in_memory(data, "gradient boosting")
    y, y_val = labels(data.train), labels(data.val)
    assert y is not None and y_val is not None
    logits = np.zeros((len(y), data.num_classes))
    val_logits = np.zeros((len(y_val), data.num_classes))
    out = NewMembers(
        [],
        "logit-sum",
        [],
        member_note="A gradient-boosting member is a stage: its row scores the "
        "ensemble of the members up to and including it.",
    )
    for k in range(settings.members):
        plan = MemberPlan(
            cfg.train.seed + k,
            targets=torch.as_tensor(gb_residual(logits, y), dtype=torch.float32),
            val_targets=torch.as_tensor(gb_residual(val_logits, y_val), dtype=torch.float32),
        )
        trained = _boost_member(cfg, data, plan, k, device, sink, control, out)
        if trained is None:
            break
        member, fitted, module, step = trained
        rho = settings.boost_rate * line_search(logits, step, y)
        logits += rho * step
        val_logits += rho * outputs(module, data.val, device, control)
        out.members.append(member)
        out.weights.append(float(rho))  # type: ignore[union-attr]
        out.statuses.append(fitted.status)
        if rho == 0.0:
            out.notes.append(f"{member_label(k)} does not lower the training loss (its step is 0)")
    return out
