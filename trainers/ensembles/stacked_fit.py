"""Members of one architecture trained together on the ordinary training loop: the Learner runs a batched model
(StackedModels: one vmapped forward, one backward, one optimizer step per batch for all of them) through a
StackedStep, and each member's rules (divergence, best epoch, early stop, progress) are the loop's own callbacks,
one set per member. Each member keeps what it would have had alone: its own initial weights, its own rows and
batch order (its own generator), its own dropout stream, loss, gradient clipping, best epoch and early stop.

Also trains single members the plain batch step cannot: weighted samples (AdaBoost) and regression targets
(gradient boosting)."""

from __future__ import annotations

import torch

from trainers.data.bundle import DatasetBundle
from trainers.ensembles.member_callbacks import MembersCallback, member_rules
from trainers.ensembles.member_plan import FittedMember, MemberPlan
from trainers.ensembles.stacked_models import StackedModels
from trainers.ensembles.stacked_step import StackedStep
from trainers.models import build_model
from trainers.spec.config import RunConfig
from trainers.spec.errors import DataError
from trainers.spec.events import RunControl, Sink
from trainers.training.callbacks import ControlCallback, ScheduleCallback
from trainers.training.loop import Learner, settings_from


def fit_stacked(
    cfg: RunConfig,
    data: DatasetBundle,
    plans: list[MemberPlan],
    device: torch.device,
    *,
    sink: Sink,
    control: RunControl,
    first: int = 0,
) -> list[FittedMember]:
    """Train every plan at once; returns one FittedMember per plan."""
    if not data.train.in_memory:
        raise DataError(
            "training members together needs the training split in memory: raise "
            "data.in_memory_limit_mb, or train one member at a time"
        )
    stacked = _stack_members(cfg, data, plans, device)
    step = _stacked_step(cfg, data, plans, stacked, device)
    regression = step.targets is not None
    es = cfg.early_stop
    monitor = "val_loss" if regression and es.monitor.endswith("acc") else es.monitor
    classes = None if regression else data.num_classes  # squared error to targets has no chance level
    trackers, rules = zip(*(member_rules(cfg, sink, first + k, monitor, classes) for k in range(len(plans))))
    settings = settings_from(cfg)
    members = MembersCallback(step, list(rules), settings)
    learner = Learner(
        stacked,
        stacked.optimizer(cfg.optim),
        data,
        settings,
        device,
        [ControlCallback(control), ScheduleCallback(cfg), members],
        batch_step=step,
    )
    learner.fit()
    return members.fitted(cfg, list(trackers))


def _stack_members(cfg: RunConfig, data: DatasetBundle, plans: list[MemberPlan], device: torch.device) -> StackedModels:
    """Each member built as the ordinary loop builds it (same seed, same initial weights), stacked."""
    models, streams = [], []
    for p in plans:
        torch.manual_seed(p.seed)
        models.append(build_model(cfg.model, data.input_shape, data.num_classes).to(device))
        streams.append(torch.get_rng_state())  # where that member's dropout masks would come from
    stacked = StackedModels(models)
    stacked.follow_streams(streams)
    return stacked


def _stacked_step(
    cfg: RunConfig, data: DatasetBundle, plans: list[MemberPlan], stacked: StackedModels, device: torch.device
) -> StackedStep:
    n_all = len(data.train)
    rows = torch.stack([p.indices if p.indices is not None else torch.arange(n_all) for p in plans]).to(device)
    gens = [torch.Generator().manual_seed(p.seed) for p in plans]
    return StackedStep(
        stacked,
        rows,
        gens,
        weights=_stack_or_none([p.weights for p in plans], device),
        targets=_stack_or_none([p.targets for p in plans], device),
        val_targets=_stack_or_none([p.val_targets for p in plans], device),
        count_correct=cfg.early_stop.monitor == "train_acc",
    )


def _stack_or_none(values: list[torch.Tensor | None], device: torch.device) -> torch.Tensor | None:
    if all(v is None for v in values):
        return None
    if any(v is None for v in values):
        raise ValueError("members trained together all have sample weights or targets, or none do")
    return torch.stack(values).to(device)  # type: ignore[arg-type]
