"""The range a search offers first for each field of the run config."""

from __future__ import annotations

from trainers.spec.config import spec
from trainers.spec.search_param import ParamSpec, check_param, resolve_field

# The ranges a search starts from. The first group is the issue's; the others narrow a field's own range where all
# of it would waste the budget or fail (a warmup as long as the run, an L1 penalty of 1, an even kernel size).
_DEFAULTS: dict[str, str] = {
    "optim.lr": "log:1e-05:0.1",
    "train.batch_size": "choice:32,64,128,256",
    "model.dropout": "float:0:0.5",
    "optim.weight_decay": "log:1e-06:0.01",
    "optim.name": "choice:adam,adamw,sgd",
    "model.hidden_layers": "int:1:4:1",
    "model.hidden_units": "choice:64,128,256,512,1024",
    "model.cnn_channels": "choice:16,32,64",
    "optim.momentum": "float:0.5:0.99",
    "train.label_smoothing": "float:0:0.2",
    "train.epochs": "int:5:50:5",
    # narrowed
    "data.augment_crop_padding": "int:0:4:1",
    "model.family": "choice:mlp,cnn",
    "model.cnn_blocks": "int:1:3:1",
    "model.kernel_size": "int:3:7:2",
    "model.pretrained": "fixed",  # needs weights on disk
    "model.freeze_backbone": "fixed",  # only with pretrained weights
    "optim.beta1": "float:0.8:0.99",
    "optim.beta2": "float:0.9:0.9999",
    "optim.eps": "log:1e-10:1e-06",
    "optim.alpha": "float:0.9:0.999",
    "optim.lr_decay": "float:0:0.1",
    "schedule.warmup_epochs": "float:0:3",
    "schedule.step_size": "int:1:30:1",
    "schedule.step_gamma": "float:0.05:0.5",
    "schedule.exp_gamma": "float:0.8:0.99",
    "schedule.min_lr": "float:0:0.001",
    "schedule.max_lr": "log:0.0001:1",
    "schedule.pct_start": "float:0.1:0.5",
    "schedule.div_factor": "log:5:100",
    "schedule.final_div_factor": "log:10:100000",
    "schedule.plateau_factor": "float:0.1:0.5",
    "schedule.plateau_patience": "int:0:10:1",
    "train.l1": "float:0:0.001",
    "train.grad_clip": "float:0:10",
    "early_stop.patience": "int:0:20:1",
    "early_stop.min_delta": "float:0:0.01",
}


def default_param(field: str) -> ParamSpec:
    """The range a search offers first for `field` (dotted or a unique short name): the table above; otherwise every
    choice of a field with choices (true and false for a switch), else the field's own range, open ends moved in by
    a hundredth of its width."""
    key = resolve_field(field, "default")
    if key in _DEFAULTS:
        return ParamSpec.parse(key, _DEFAULTS[key])
    s = spec(key)
    if s.choices is not None or s.type is bool:
        return check_param(ParamSpec(key, "choice", choices=tuple(s.choices or (False, True))))
    if s.type not in (int, float) or s.lo is None or s.hi is None:
        return ParamSpec(key, "fixed")
    nudge = 1.0 if s.type is int else (s.hi - s.lo) / 100
    low = s.lo + nudge if s.lo_open else s.lo
    high = s.hi - nudge if s.hi_open else s.hi
    return check_param(ParamSpec(key, "int" if s.type is int else "float", low, high))
