"""The reference: plain Optuna TPE driving a minimal hand-written PyTorch loop over the same space, data splits,
model and epochs as TuneLab's search — what a user writes without TuneLab.

The loop: an MLP (flatten, hidden layers of Linear → ReLU → Dropout, a Linear head; PyTorch's default init) trained
with the sampled optimizer on the same in-memory splits TuneLab loads (trainers.data.load_dataset), batches drawn
as `x[perm[i:i+b]]`, validation after every epoch. The objective is TuneLab's rule too: the validation accuracy of
the epoch with the lowest validation loss (the epoch TuneLab keeps), so both sides optimise the same number."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import optuna
import torch
from torch import nn

from trainers.data import DatasetBundle
from trainers.spec.search_space import SearchSpace


@dataclass(frozen=True)
class PlainResult:
    best: float  # the best trial's value
    epochs: int  # epochs trained over all trials
    seconds: float
    trials: int
    study: optuna.Study


def suggest(trial: Any, space: SearchSpace, fixed: dict[str, Any]) -> dict[str, Any]:
    """The space's params suggested with the same names, bounds and kinds TuneLab's sample_config uses."""
    values = dict(fixed)
    for p in space.params:
        if p.mode == "choice":
            values[p.field] = trial.suggest_categorical(p.field, list(p.choices))
        elif p.mode == "int":
            values[p.field] = trial.suggest_int(p.field, int(p.low), int(p.high), step=int(p.step or 1), log=p.log)
        else:
            values[p.field] = trial.suggest_float(p.field, p.low, p.high, log=p.log, step=p.step)
    return values


def mlp(inputs: int, classes: int, layers: int, units: int, dropout: float) -> nn.Sequential:
    parts: list[nn.Module] = [nn.Flatten()]
    width = inputs
    for _ in range(layers):
        parts += [nn.Linear(width, units), nn.ReLU()] + ([nn.Dropout(dropout)] if dropout > 0 else [])
        width = units
    return nn.Sequential(*parts, nn.Linear(width, classes))


def optimizer(name: str, params: Any, lr: float, weight_decay: float, momentum: float) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


def train(data: DatasetBundle, v: dict[str, Any], epochs: int, seed: int, trial: Any = None) -> tuple[float, int]:
    """(the kept epoch's validation accuracy, epochs run); reports each epoch to `trial` and stops when pruned."""
    torch.manual_seed(seed)
    x, y, vx, vy = data.train.x, data.train.y, data.val.x, data.val.y
    assert x is not None and y is not None and vx is not None and vy is not None
    model = mlp(
        math.prod(data.input_shape),
        data.num_classes,
        v["model.hidden_layers"],
        v["model.hidden_units"],
        v["model.dropout"],
    )
    opt = optimizer(v["optim.name"], model.parameters(), v["optim.lr"], v["optim.weight_decay"], v["optim.momentum"])
    loss_fn, batch, gen = nn.CrossEntropyLoss(), int(v["train.batch_size"]), torch.Generator().manual_seed(seed)
    best_loss, kept = math.inf, 0.0
    for epoch in range(1, epochs + 1):
        model.train()
        perm = torch.randperm(len(y), generator=gen)
        for i in range(0, len(y), batch):
            idx = perm[i : i + batch]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x[idx]), y[idx]).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            out = model(vx)
            val_loss, val_acc = float(loss_fn(out, vy)), float((out.argmax(1) == vy).float().mean())
        if math.isfinite(val_loss) and val_loss < best_loss:
            best_loss, kept = val_loss, val_acc
        if not math.isfinite(val_loss):
            return kept, epoch
        if trial is not None:  # what TuneLab's pruning callback reports: the epoch's own value
            trial.report(val_acc, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
    return kept, epochs


def plain_search(
    data: DatasetBundle, space: SearchSpace, fixed: dict[str, Any], trials: int, epochs: int, seed: int
) -> PlainResult:
    """Plain Optuna TPE (its defaults, seeded) over `trials` trials of the plain loop, in memory."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    ran = [0]

    def objective(trial: optuna.Trial) -> float:
        value, n = train(data, suggest(trial, space, fixed), epochs, seed)
        ran[0] += n
        return value

    t0 = time.perf_counter()
    study.optimize(objective, n_trials=trials)
    return PlainResult(study.best_value, ran[0], time.perf_counter() - t0, trials, study)
