"""Schedules as pure functions, and weight decay kept off biases and norm layers."""

from __future__ import annotations

import math

import pytest
from torch import nn

from trainers.spec.config import RunConfig
from trainers.spec.schedules import sched_cos, sched_exp, sched_lin, schedule_preview, scheduled_lr
from trainers.training.optim import build_optimizer, parameter_groups


def _cfg(**changes: object) -> RunConfig:
    base = {"optim.lr": 0.1, "train.epochs": 10}
    base.update(changes)
    return RunConfig().replace(**base)


def test_pure_schedule_functions() -> None:
    assert sched_lin(1, 3, 0.5) == 2
    assert sched_cos(1, 3, 0) == pytest.approx(1) and sched_cos(1, 3, 1) == pytest.approx(3)
    assert sched_cos(1, 3, 0.5) == pytest.approx(2)
    assert sched_exp(1e-7, 10, 0.5) == pytest.approx(math.sqrt(1e-6))


def test_step_exponential_cosine_constant() -> None:
    spe = 5
    step = _cfg(**{"schedule.name": "step", "schedule.step_size": 3, "schedule.step_gamma": 0.5})
    assert scheduled_lr(step, 0, spe) == pytest.approx(0.1)
    assert scheduled_lr(step, 3 * spe, spe) == pytest.approx(0.05)
    assert scheduled_lr(step, 6 * spe + 1, spe) == pytest.approx(0.025)
    expo = _cfg(**{"schedule.name": "exponential", "schedule.exp_gamma": 0.9})
    assert scheduled_lr(expo, 2 * spe, spe) == pytest.approx(0.1 * 0.81)
    cos = _cfg(**{"schedule.name": "cosine", "schedule.min_lr": 0.0})
    assert scheduled_lr(cos, 25, spe) == pytest.approx(0.05)
    assert scheduled_lr(_cfg(), 37, spe) == pytest.approx(0.1)


def test_one_cycle_peaks_at_max_lr_and_ends_low() -> None:
    cfg = _cfg(**{"schedule.name": "one_cycle", "schedule.max_lr": 0.4, "schedule.pct_start": 0.25})
    spe = 10
    lrs = [scheduled_lr(cfg, k, spe) for k in range(100)]
    assert lrs[0] == pytest.approx(0.4 / 25)
    assert max(lrs) == pytest.approx(0.4) and lrs.index(max(lrs)) == 25
    assert lrs[-1] < lrs[0] / 10  # heading to lr0 / final_div_factor


def test_warmup_and_plateau_scale() -> None:
    cfg = _cfg(**{"schedule.warmup_epochs": 2.0})
    assert scheduled_lr(cfg, 0, 10) == pytest.approx(0.1 / 20)
    assert scheduled_lr(cfg, 19, 10) == pytest.approx(0.1)
    plateau = _cfg(**{"schedule.name": "plateau", "schedule.min_lr": 0.02})
    assert scheduled_lr(plateau, 0, 10, plateau_scale=0.1) == pytest.approx(0.02)


def test_preview_covers_the_planned_run() -> None:
    epochs, lrs = schedule_preview(_cfg(**{"schedule.name": "cosine"}), steps_per_epoch=20)
    assert epochs[0] == 0 and epochs[-1] == pytest.approx(10 - 1 / 20)
    assert lrs[0] == pytest.approx(0.1) and lrs[-1] < 0.001


def test_no_weight_decay_on_biases_and_norms() -> None:
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2), nn.LayerNorm(2))
    decay, no_decay = parameter_groups(model, 0.01)
    assert decay["weight_decay"] == 0.01 and no_decay["weight_decay"] == 0.0
    assert {id(p) for p in decay["params"]} == {id(model[0].weight), id(model[3].weight)}
    assert len(no_decay["params"]) == 6  # 2 linear biases, BN weight+bias, LN weight+bias


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw", "rmsprop", "adagrad"])
def test_each_optimizer_builds_with_its_parameters(name: str) -> None:
    cfg = RunConfig().replace(**{"optim.name": name, "optim.weight_decay": 0.01})
    opt = build_optimizer(cfg.optim, nn.Linear(3, 2))
    assert type(opt).__name__.lower() == name
    assert [g["weight_decay"] for g in opt.param_groups] == [0.01, 0.0]
