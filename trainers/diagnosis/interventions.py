"""What to change after a diagnosis, ranked best first, as new values of the run config's fields.

Each intervention's `changes` maps dotted config fields to values computed from the diagnosed run's own
config, so applying it is `cfg.replace(**changes)`. Two are not config changes and carry no changes:
"lr_finder" (run the learning-rate range test) and "ensemble" (combine trained trials).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from trainers.diagnosis.lr_band import training_rate
from trainers.diagnosis.rules import FAILED, MIN_EPOCHS, Finding
from trainers.spec.config import RunConfig, spec
from trainers.spec.errors import ConfigError
from trainers.spec.rates import learning_rate_fields

DROPOUT_UP = 0.2  # one step of dropout; from 0 it lands at 0.3, the usual first try
DROPOUT_FLOOR = 0.3  # below this dropout barely regularises a wide MLP
DROPOUT_MAX = 0.5  # beyond 0.5 a network mostly loses capacity
WEIGHT_DECAY_FLOOR = 5e-4  # the smallest weight decay worth a run of its own
WEIGHT_DECAY_MAX = 0.1  # more than this shrinks the weights faster than the data can grow them
PATIENCE = 5  # epochs past the best before early stopping gives up
VERY_SLOW_RATE = 0.01  # training loss falling under 1% per epoch needs a 10x higher rate, not 3x
GRAD_CLIP = 1.0  # a gradient-norm cap that rarely binds in a healthy run
WARMUP_EPOCHS = 2.0  # long enough to get past the first, largest updates
VAL_SPLIT_MAX = 0.3  # more validation data steadies the curve, at the training set's cost
MAX_LR = float(spec("optim.lr").hi or 100.0)  # optim.lr and schedule.max_lr share this upper limit


@dataclass(frozen=True)
class Intervention:
    """One change to try. `changes` holds dotted run-config fields with their new values."""

    key: str
    title: str
    why: str
    changes: dict[str, object] = field(default_factory=dict)

    def apply(self, cfg: RunConfig) -> RunConfig:
        """The run config with this change made (validated), ready to run."""
        return cfg.replace(**self.changes) if self.changes else cfg


Candidate = Callable[[RunConfig, Finding], "Intervention | None"]


def more_data(cfg: RunConfig, f: Finding) -> Intervention | None:
    frac = cfg.data.train_fraction
    new = min(1.0, round(2 * frac, 4))
    return Intervention(
        "more_data",
        "Train on more data",
        f"only {frac:.0%} of the training split is used; {new:.0%} gives the model more examples to generalise from",
        {"data.train_fraction": new},
    )


def dropout_up(cfg: RunConfig, f: Finding) -> Intervention | None:
    old = cfg.model.dropout
    new = round(min(DROPOUT_MAX, max(DROPOUT_FLOOR, old + DROPOUT_UP)), 3)
    if new <= old:
        return None  # already at or past the useful maximum
    return Intervention(
        "dropout",
        "More dropout",
        f"dropout {old:g} → {new:g} makes memorising single examples harder",
        {"model.dropout": new},
    )


def weight_decay_up(cfg: RunConfig, f: Finding) -> Intervention | None:
    old = cfg.optim.weight_decay
    new = float(f"{min(WEIGHT_DECAY_MAX, max(WEIGHT_DECAY_FLOOR, 10 * old)):.3g}")
    if new <= old:
        return None
    return Intervention(
        "weight_decay",
        "More weight decay",
        f"weight decay {old:g} → {new:g} keeps the weights small, so the model fits smoother functions",
        {"optim.weight_decay": new},
    )


def early_stopping(cfg: RunConfig, f: Finding) -> Intervention | None:
    es = cfg.early_stop
    if es.enabled and es.monitor == "val_loss" and es.restore_best:
        return None
    where = f"validation loss was best at epoch {f.onset_epoch}; " if f.onset_epoch else ""
    return Intervention(
        "early_stopping",
        "Stop early",
        f"{where}stopping {PATIENCE} epochs after the best validation loss keeps the best weights and skips the "
        "epochs that only overfit (the kept weights are the same: it saves the time, not the accuracy)",
        {
            "early_stop.enabled": True,
            "early_stop.monitor": "val_loss",
            "early_stop.patience": PATIENCE,
            "early_stop.restore_best": True,
        },
    )


def ensemble(cfg: RunConfig, f: Finding) -> Intervention | None:
    return Intervention(
        "ensemble",
        "Build an ensemble",
        "averaging several trained trials cancels part of each model's own error (variance); on eight benchmark "
        "tables, greedy selection over the stored trials scored −0.1 to +1.1 points of test accuracy against the "
        "best single trial (a gain on two, no change on five, one test sample lost on one)",
    )


def lr_finder(cfg: RunConfig, f: Finding) -> Intervention | None:
    return Intervention(
        "lr_finder",
        "Run the LR finder and use its recommended rate",
        "it runs the learning-rate range test on this model and data and sets the learning rate to the rate it "
        "recommends: one step to a sound rate, where a 3x or 10x change may still miss it",
    )


def _scale_lr(cfg: RunConfig, factor: float) -> dict[str, object]:
    """The engine's learning-rate fields (trainers.spec.rates) set to the run's rate times `factor`."""
    new = float(f"{min(MAX_LR, training_rate(cfg) * factor):.3g}")
    return dict.fromkeys(learning_rate_fields(cfg.schedule.name), new)


def lower_lr(cfg: RunConfig, f: Finding) -> Intervention | None:
    factor = 10 if f.facts.get("severe") else 3
    changes = _scale_lr(cfg, 1 / factor)
    return Intervention(
        "lower_lr",
        f"Lower the learning rate {factor}x",
        f"learning rate {training_rate(cfg):g} → {changes['optim.lr']:g}: smaller steps stop overshooting the minimum",
        changes,
    )


def higher_lr(cfg: RunConfig, f: Finding) -> Intervention | None:
    rate = f.facts.get("rate")
    very_slow = f.facts.get("pace") == "slow" and rate is not None and rate < VERY_SLOW_RATE
    factor = 10 if f.facts.get("severe") or very_slow else 3
    changes = _scale_lr(cfg, factor)
    return Intervention(
        "higher_lr",
        f"Raise the learning rate {factor}x",
        f"learning rate {training_rate(cfg):g} → {changes['optim.lr']:g}: the loss moves too little per epoch",
        changes,
    )


def more_epochs(cfg: RunConfig, f: Finding) -> Intervention | None:
    new = min(100_000, 2 * cfg.train.epochs)
    return Intervention(
        "more_epochs",
        "Train longer",
        f"{cfg.train.epochs} → {new} epochs: the loss was still falling when the run ended",
        {"train.epochs": new},
    )


def bigger_model(cfg: RunConfig, f: Finding) -> Intervention | None:
    """Twice as wide, and at least as wide as the defaults: a model held back by its size well below them gains
    little from one doubling (2 → 4 units fits no better)."""
    m, default = cfg.model, RunConfig().model
    if m.family == "mlp":
        new = min(8192, max(2 * m.hidden_units, default.hidden_units))
        return Intervention(
            "bigger_model",
            "Use a bigger model",
            f"{m.hidden_units} → {new} units per hidden layer: more capacity to fit the training data",
            {"model.hidden_units": new},
        )
    if m.family == "cnn":
        new = min(1024, max(2 * m.cnn_channels, default.cnn_channels))
        return Intervention(
            "bigger_model",
            "Use a bigger model",
            f"{m.cnn_channels} → {new} channels in the first block: more capacity to fit the training data",
            {"model.cnn_channels": new},
        )
    return None


def less_regularisation(cfg: RunConfig, f: Finding) -> Intervention | None:
    changes: dict[str, object] = {}
    if cfg.model.dropout > 0:
        changes["model.dropout"] = round(cfg.model.dropout / 2, 3) if cfg.model.dropout > 0.05 else 0.0
    if cfg.optim.weight_decay > 0:
        changes["optim.weight_decay"] = float(f"{cfg.optim.weight_decay / 10:.3g}")
    if not changes:
        return None
    return Intervention(
        "less_regularisation",
        "Regularise less",
        "dropout and weight decay hold the model back from fitting data it does not yet fit",
        changes,
    )


def larger_batch(cfg: RunConfig, f: Finding) -> Intervention | None:
    new = min(1_000_000, 2 * cfg.train.batch_size)
    return Intervention(
        "larger_batch",
        "Use larger batches",
        f"batch size {cfg.train.batch_size} → {new} averages out more of the gradient noise per step",
        {"train.batch_size": new},
    )


def grad_clip(cfg: RunConfig, f: Finding) -> Intervention | None:
    old = cfg.train.grad_clip
    new = GRAD_CLIP if old == 0 else old / 2
    return Intervention(
        "grad_clip",
        "Clip the gradient norm",
        f"a cap of {new:g} on the gradient norm stops one bad batch from throwing the weights far away",
        {"train.grad_clip": new},
    )


def warmup(cfg: RunConfig, f: Finding) -> Intervention | None:
    if cfg.schedule.name == "one_cycle" or cfg.schedule.warmup_epochs > 0:
        return None
    new = min(WARMUP_EPOCHS, cfg.train.epochs - 1)
    return Intervention(
        "warmup",
        "Warm the learning rate up",
        f"a linear warmup over {new:g} epochs keeps the first, largest updates small",
        {"schedule.warmup_epochs": new},
    )


def bigger_val_split(cfg: RunConfig, f: Finding) -> Intervention | None:
    new = round(min(VAL_SPLIT_MAX, 2 * cfg.data.val_split), 3)
    return Intervention(
        "bigger_val_split",
        "Validate on more data",
        f"validation split {cfg.data.val_split:g} → {new:g}: a larger validation set gives a steadier curve",
        {"data.val_split": new},
    )


def few_epochs(cfg: RunConfig, f: Finding) -> Intervention | None:
    if cfg.train.epochs >= MIN_EPOCHS:
        return None  # a run still in progress: wait for its epochs
    return Intervention(
        "more_epochs", "Train longer", f"{cfg.train.epochs} → 10 epochs: enough to read a trend", {"train.epochs": 10}
    )


# Underfitting by its cause (trainers.diagnosis.underfit_rule): when the rate is the cause the LR finder comes
# first, since one 3x or 10x step from a rate far off still lands far off.
UNDERFIT_RANKING: dict[str, tuple[Candidate, ...]] = {
    "rate_low": (lr_finder, higher_lr, more_epochs),
    "rate_high": (lr_finder, lower_lr, grad_clip),
    "capacity": (bigger_model, less_regularisation, lr_finder),
    "epochs": (more_epochs, higher_lr, lr_finder, bigger_model),
}


def _ranking(f: Finding) -> tuple[Candidate, ...]:
    if f.label == FAILED:
        return ()  # the message says what to fix; the settings are not the question
    if f.label == "diverged":
        return lr_finder, lower_lr, grad_clip, warmup
    if f.label == "lr_too_high":
        return (lr_finder, lower_lr, larger_batch, grad_clip) + ((warmup,) if f.facts.get("rose_early") else ())
    if f.label == "overfitting":
        # By outcome on the advice benchmark: more data raised validation accuracy most often, dropout next; weight
        # decay from nothing to 5e-4 about as rarely as early stopping, which at least saves the epochs.
        return more_data, dropout_up, early_stopping, weight_decay_up, ensemble
    if f.label == "underfitting":
        return UNDERFIT_RANKING[str(f.facts.get("cause", "capacity"))]
    if f.label == "good_fit":
        wide = (more_data, dropout_up) if f.facts.get("wide_gap") else ()
        bigger = (bigger_model,) if f.facts.get("high") else ()
        return ((more_epochs,) if f.facts.get("improving") else ()) + wide + (ensemble,) + bigger
    if f.facts.get("reason") == "val_noisy":
        return bigger_val_split, larger_batch
    return (few_epochs,)


def interventions_for(finding: Finding, cfg: RunConfig | None) -> tuple[Intervention, ...]:
    """Ranked interventions whose changes give a valid config that differs from `cfg`.

    Without a usable config only the two that change no field (LR finder, ensemble) are offered."""
    out: list[Intervention] = []
    for candidate in _ranking(finding):
        if cfg is None:
            fixed = candidate(RunConfig(), finding) if candidate in (lr_finder, ensemble) else None
            if fixed is not None:
                out.append(fixed)
            continue
        item = candidate(cfg, finding)
        if item is None or (item.changes and not _changes_something(cfg, item)):
            continue
        out.append(item)
    return tuple(out)


def _changes_something(cfg: RunConfig, item: Intervention) -> bool:
    """True when the changes validate and at least one field gets a new value."""
    try:
        new = item.apply(cfg)
    except ConfigError:
        return False
    return new.to_dict() != cfg.to_dict()
