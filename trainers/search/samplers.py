"""The search's sampler and pruner from its settings, each of Optuna's own.

Every worker builds its own sampler with seed = settings.seed + its index: seeded samplers otherwise hand every
worker the same first trials. A sampler whose package is missing is a ConfigError naming search_run.sampler
before any trial exists."""

from __future__ import annotations

import importlib.util
import warnings
from typing import Any

import optuna
from optuna.pruners import BasePruner, HyperbandPruner, MedianPruner, NopPruner, SuccessiveHalvingPruner
from optuna.samplers import BaseSampler, GridSampler

from trainers.spec.errors import ConfigError
from trainers.spec.search_settings import SearchSettings, check_for_sampler
from trainers.spec.search_space import SearchSpace

# What each sampler needs beyond Optuna (module to look for, what to install).
_NEEDS = {"cmaes": (("cmaes", "cmaes"),), "gp": (("scipy", "scipy"), ("torch", "torch"))}
MEDIAN_STARTUP_TRIALS = 5  # trials the median pruner lets finish before it compares (Optuna's default)
REDUCTION_FACTOR = 3  # successive halving and Hyperband keep a third of the trials at each rung


class _Grid(GridSampler):
    """Optuna's grid, without its own end: it calls study.stop(), which only works inside study.optimize. The
    search's budget counts the grid's size instead (budget.py)."""

    def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
        pass


def grid_size(space: SearchSpace) -> int:
    """Combinations a grid visits."""
    size = 1
    for p in space.params:
        size *= len(p.grid_values() or ())
    return size


def check_sampler(space: SearchSpace, settings: SearchSettings) -> None:
    """The sampler can run on this space and its package is installed; a ConfigError naming search_run.sampler."""
    check_for_sampler(space, settings)
    for module, package in _NEEDS.get(settings.sampler, ()):
        if importlib.util.find_spec(module) is None:
            raise ConfigError(
                "search_run.sampler",
                settings.sampler,
                f"an installed sampler: {settings.sampler} needs the package {package} (pip install {package}), "
                "or choose tpe or random",
            )


def make_sampler(space: SearchSpace, settings: SearchSettings, worker_index: int = 0) -> BaseSampler:
    """The settings' sampler, seeded for this worker."""
    check_sampler(space, settings)
    seed = settings.seed + worker_index
    name = settings.sampler
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if name == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        if name == "grid":
            return _Grid({p.field: list(p.grid_values() or ()) for p in space.params}, seed=seed)
        if name == "cmaes":
            return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
        if name == "gp":
            return optuna.samplers.GPSampler(seed=seed, warn_independent_sampling=False)
        # group: conditional fields (momentum only under sgd) are modelled with the params they appear with
        return optuna.samplers.TPESampler(multivariate=True, group=True, seed=seed)


def make_pruner(settings: SearchSettings, epochs: int | None) -> BasePruner:
    """The settings' pruner: none acts before `min_epochs_before_pruning` epochs. `epochs`: what every trial trains
    at most (None when the space varies train.epochs: Hyperband then reads it from the trials)."""
    first = max(1, settings.min_epochs_before_pruning)
    name = settings.pruner
    if name == "none":
        return NopPruner()
    if name == "halving":
        return SuccessiveHalvingPruner(min_resource=first, reduction_factor=REDUCTION_FACTOR)
    if name == "hyperband":
        top: int | str = "auto" if epochs is None else max(epochs, first)
        return HyperbandPruner(min_resource=first, max_resource=top, reduction_factor=REDUCTION_FACTOR)
    return MedianPruner(n_startup_trials=MEDIAN_STARTUP_TRIALS, n_warmup_steps=first)
