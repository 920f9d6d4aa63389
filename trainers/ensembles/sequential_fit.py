"""Members trained one after another by the ordinary training loop (trainers/training/loop.py), each on its own rows.

This is the reference the vectorised trainer must match, and the path for architectures vmap cannot batch
and for datasets streamed from disk."""

from __future__ import annotations

import dataclasses

import torch
from torch.utils.data import Subset

from trainers.data.bundle import DatasetBundle, Split
from trainers.ensembles.member_callbacks import keeps_best, member_rules
from trainers.ensembles.member_plan import FittedMember, MemberPlan
from trainers.models import build_model
from trainers.spec.config import RunConfig
from trainers.spec.events import RunControl, Sink
from trainers.training.callbacks import ControlCallback, ScheduleCallback
from trainers.training.loop import Learner, settings_from
from trainers.training.optim import build_optimizer


def subset(split: Split, rows: torch.Tensor | None) -> Split:
    """The rows of a split (a bootstrap sample may repeat rows); the whole split for None."""
    if rows is None:
        return split
    if split.in_memory:
        assert split.x is not None and split.y is not None
        rows = rows.to(split.x.device)
        return Split(split.x[rows], split.y[rows])
    return Split(dataset=Subset(split.dataset, rows.tolist()))  # type: ignore[arg-type]


def fit_one_by_one(
    cfg: RunConfig,
    data: DatasetBundle,
    plans: list[MemberPlan],
    device: torch.device,
    *,
    sink: Sink,
    control: RunControl,
    first: int = 0,
) -> list[FittedMember]:
    """Train each plain plan with the ordinary loop; a stop request ends the series after that member."""
    fitted: list[FittedMember] = []
    for k, plan in enumerate(plans):
        if not plan.plain:
            raise ValueError("the ordinary loop trains unweighted classifiers only")
        torch.manual_seed(plan.seed)
        model = build_model(cfg.model, data.input_shape, data.num_classes).to(device)
        member_data = dataclasses.replace(data, train=subset(data.train, plan.indices), test=None)
        tracker, rules = member_rules(cfg, sink, first + k, num_classes=data.num_classes)
        callbacks = [ControlCallback(control), ScheduleCallback(cfg), *rules]
        settings = dataclasses.replace(settings_from(cfg), seed=plan.seed)
        learner = Learner(model, build_optimizer(cfg.optim, model), member_data, settings, device, callbacks)
        learner.fit()
        best = tracker.best_state is not None and keeps_best(cfg, learner.status)
        state = (
            tracker.best_state
            if best and tracker.best_state is not None
            else {n: v.detach().to("cpu", copy=True) for n, v in model.state_dict().items()}
        )
        fitted.append(FittedMember(state, learner.status, learner.epoch, tracker.best_epoch, learner.message))
        if learner.status == "stopped":
            break
    return fitted
