"""Training runs that differ only in continuous hyperparameters, trained together as one stack (the ensembles'
vmapped members, trainers/ensembles/stacked_*.py) and recorded as one ordinary train trial each.

Each member is what `run_training` of its config would be: its own trial in the store from the start (the same
columns and extra), its initial weights, batch order and dropout masks from its own seed (the stream its own run
would draw from), its own learning rate on its own schedule, weight decay, momentum or betas, dropout rate and label
smoothing; its epochs recorded by the same StoreRecorder, its events (FitStarted, EpochEnded, FitEnded) sent to its
own sink, its best epoch, early stop, divergence and test score by the same rules, and its diagnosis stored with it.
A member whose rules end it (early stop, divergence, a pruner) leaves the stack at that epoch's end.

What differs from a run of its own: no BatchEnded events; a loss that turns non-finite mid-epoch is found at the
epoch's end (the same status, a later diverged step); the time of an epoch is the stack's."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

import torch

from trainers.data.bundle import DatasetBundle
from trainers.ensembles.member_callbacks import MembersCallback
from trainers.ensembles.stacked_models import VMAPPABLE, StackedModels
from trainers.ensembles.stacked_optim import STACKED_OPTIMIZERS, MemberSchedule, StackedOptimizer
from trainers.ensembles.stacked_step import StackedStep
from trainers.jobs.device import resolve_device
from trainers.jobs.lifecycle import TrialJob, start_job
from trainers.models import build_model, count_parameters
from trainers.spec.config import RunConfig
from trainers.spec.errors import TuneLabError
from trainers.spec.events import FitEnded, RunControl, Sink
from trainers.store import TrialStore
from trainers.training.callbacks import BestTracker, ControlCallback, DivergenceGuard, EarlyStopping, EventCallback
from trainers.training.loop import Callback, EvalResult, Learner, settings_from
from trainers.training.optim import build_optimizer
from trainers.training.recording import StoreRecorder
from trainers.training.run import TRAIN_KIND, finish_training, score_test

# Fields a member of a stack has on its own; every other field is the stack's (the schedule section too is each
# member's own: its rate is worked out from its own config at every step).
CONTINUOUS = (
    "optim.lr",
    "optim.weight_decay",
    "optim.momentum",
    "optim.beta1",
    "optim.beta2",
    "optim.eps",
    "optim.alpha",
    "optim.lr_decay",
    "model.dropout",
    "train.label_smoothing",
)
PER_MEMBER_SECTIONS = ("schedule",)


def stackable(cfg: RunConfig, device: torch.device | None = None) -> bool:
    """A config whose run can train in a stack: a family vmap can batch, an optimizer with a per-member form, no
    reduce-on-plateau (it lowers one member's rate on its own validation loss) and no mixed precision on a GPU."""
    if cfg.train.amp and device is not None and device.type == "cuda":
        return False
    return cfg.model.family in VMAPPABLE and cfg.optim.name in STACKED_OPTIMIZERS and cfg.schedule.name != "plateau"


def stack_key(cfg: RunConfig) -> str | None:
    """What a config shares with every other member of its stack (None: it cannot train in a stack)."""
    try:
        device = resolve_device(cfg.train.device)
    except TuneLabError:
        return None
    if not stackable(cfg, device):
        return None
    raw: dict[str, Any] = {k: v for k, v in cfg.to_dict().items() if k not in PER_MEMBER_SECTIONS}
    for key in CONTINUOUS:
        section, name = key.split(".")
        raw[section] = {k: v for k, v in raw[section].items() if k != name}
    return json.dumps(raw, sort_keys=True, default=str)


@dataclass
class StackMember:
    cfg: RunConfig
    sink: Sink
    callbacks: list[Callback] = field(default_factory=list)  # its own extra rules (a search's pruner), as a run's
    trial_extra: dict[str, Any] = field(default_factory=dict)  # stored with its trial from the start


@dataclass
class _Run:
    """One member's job and the rules that judge it."""

    member: StackMember
    job: TrialJob
    tracker: BestTracker
    guard: DivergenceGuard
    recorder: StoreRecorder
    test: EvalResult | None = None
    scored: Learner | None = None  # the member's own model as it scored the test split


def run_stacked(
    members: list[StackMember],
    data: DatasetBundle,
    *,
    store: TrialStore,
    control: RunControl | None = None,
    stack_callbacks: list[Callback] | None = None,
) -> list[FitEnded]:
    """Train every member together; one FitEnded per member, in order. Like run_training, a config error raises before
    any trial exists, and anything that fails after is recorded as each member's "failed" status, never raised.
    `data` holds its training split in memory; `stack_callbacks` join the stack's own loop (a stop after an epoch)."""
    keys = {stack_key(m.cfg) for m in members}
    if len(members) < 2 or None in keys or len(keys) != 1:
        raise ValueError("a stack is two or more runs that differ only in continuous values, on a model it can hold")
    control = control or RunControl()
    runs = [_start(store, m, control) for m in members]
    for r in runs:
        r.job.status = "failed"  # until the loop says otherwise
    lead = runs[0].job
    trained = False
    with lead.running():
        _fit(runs, data, control, stack_callbacks or [])
        trained = True
    if not trained:  # the stack failed as one: every member ends as the lead did
        for r in runs[1:]:
            r.job.status, r.job.notes, r.job.extra = lead.status, list(lead.notes), dict(lead.extra)
    return [_finish(store, r) for r in runs]


def _start(store: TrialStore, member: StackMember, control: RunControl) -> _Run:
    job = start_job(store, TRAIN_KIND, member.cfg, sink=member.sink, control=control, extra=member.trial_extra)
    es = member.cfg.early_stop
    tracker = BestTracker(es.monitor, es.mode, es.min_delta)
    recorder = StoreRecorder(store, job.trial_id, tracker, member.cfg.train.checkpoints)
    return _Run(member, job, tracker, DivergenceGuard(), recorder)


def _fit(runs: list[_Run], bundle: DatasetBundle, control: RunControl, stack_callbacks: list[Callback]) -> None:
    lead = runs[0].job
    cfgs = [r.member.cfg for r in runs]
    data = lead.load_data(bundle)
    ids = [r.job.trial_id for r in runs]
    for r in runs:
        r.guard.num_classes = data.num_classes  # the guard and the diagnosis judge by its chance level
        others = [i for i in ids if i != r.job.trial_id]
        extra = {"num_classes": data.num_classes, "stacked_with": others}
        if data.preprocessing is not None and r.job is not lead:  # the lead's own load stored it
            extra["preprocessing"] = data.preprocessing.to_json()
        r.job.store.update_trial(r.job.trial_id, extra=extra)
    stacked, params = _stack(cfgs, data, lead.device)
    step = StackedStep(
        stacked,
        torch.arange(len(data.train), device=lead.device).repeat(len(runs), 1),
        [torch.Generator().manual_seed(c.train.seed) for c in cfgs],  # each run's batch order
        count_correct=True,
        smoothing=_varied([c.train.label_smoothing for c in cfgs]),
    )
    settings = settings_from(cfgs[0])
    events = [EventCallback(r.member.sink, r.job.trial_id, r.tracker, params, str(lead.device)) for r in runs]
    rules = [_rules(r, e) for r, e in zip(runs, events)]
    members = MembersCallback(step, rules, settings, drop_done=True, epoch_end=lead.store.outbox.held)
    learner = Learner(
        stacked,
        StackedOptimizer(stacked.params, stacked.decay, cfgs),
        data,
        settings,
        lead.device,
        [ControlCallback(control), MemberSchedule(), members, *stack_callbacks],
        batch_step=step,
    )
    for e in events:
        e.before_fit(learner)
    learner.fit()
    for r, view in zip(runs, members.views):
        r.job.status = view.status
        r.job.notes.insert(0, view.message)
        r.test, r.scored = _score_test(r, data, view.final, view.status, control)


def _stack(cfgs: list[RunConfig], data: DatasetBundle, device: torch.device) -> tuple[StackedModels, int]:
    """Each member built as its own run builds it (seeded, so the same initial weights), stacked, with its dropout
    masks drawn from where its own run would draw them. Every member is built with the stack's highest dropout rate
    so that every dropout site is there (a dropout layer has no weights: the initial weights are the same); each
    then drops at its own rate. Returns the stack and one member's parameter count."""
    top = max(c.model.dropout for c in cfgs)
    models, streams = [], []
    for c in cfgs:
        torch.manual_seed(c.train.seed)
        model_cfg = dataclasses.replace(c.model, dropout=top)
        models.append(build_model(model_cfg, data.input_shape, data.num_classes).to(device))
        streams.append(torch.get_rng_state())
    stacked = StackedModels(models)
    stacked.follow_streams(streams)
    stacked.set_dropout_rates([c.model.dropout for c in cfgs])
    return stacked, count_parameters(models[0])


def _varied(values: list[float]) -> list[float] | None:
    """Per-member values when they differ; None when the stack shares one (the settings' own)."""
    return values if len(set(values)) > 1 else None


def _rules(r: _Run, events: EventCallback) -> list[Callback]:
    """A member's callbacks, as run_training gives a run: divergence, best epoch, store, events, extra, early stop."""
    rules: list[Callback] = [r.guard, r.tracker, r.recorder, events, *r.member.callbacks]
    es = r.member.cfg.early_stop
    if es.enabled:
        rules.append(EarlyStopping(r.tracker, es.patience))
    return sorted(rules, key=lambda cb: cb.order)


def _score_test(
    r: _Run, data: DatasetBundle, final: dict[str, torch.Tensor] | None, status: str, control: RunControl
) -> tuple[EvalResult | None, Learner | None]:
    """The member's test score as its own run scores it (score_test), on its own model with its own weights, and
    the learner that scored it (its evaluation is stored as a lone run's is)."""
    cfg = r.member.cfg
    if data.test is None or final is None:
        return None, None
    model = build_model(cfg.model, data.input_shape, data.num_classes).to(r.job.device)
    model.load_state_dict(final)
    learner = Learner(
        model, build_optimizer(cfg.optim, model), data, settings_from(cfg), r.job.device, [ControlCallback(control)]
    )
    learner.status = status
    es = cfg.early_stop
    test = score_test(learner, r.tracker, restore_best=not es.enabled or es.restore_best)
    return test, learner if test is not None else None


def _finish(store: TrialStore, r: _Run) -> FitEnded:
    """The member's result and trial, as run_training finishes a run."""
    return finish_training(store, r.job, r.tracker, r.recorder, r.guard, r.test, r.scored)
