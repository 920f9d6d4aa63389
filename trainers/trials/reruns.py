"""Re-run trials with seeds they have not used, so configs can be ranked by mean ± standard deviation."""

from __future__ import annotations

from typing import Sequence

from trainers.spec.config import RunConfig
from trainers.spec.errors import ConfigError
from trainers.spec.events import FitEnded, RunControl, Sink
from trainers.spec.trial_config import stored_run_config
from trainers.store import TrialStore
from trainers.training.queued_runs import queue_run
from trainers.training.run import run_training


def unused_seeds(used: set[int | None], n: int) -> list[int]:
    """The n smallest seeds not in `used`."""
    seeds: list[int] = []
    candidate = 0
    while len(seeds) < n:
        if candidate not in used:
            seeds.append(candidate)
        candidate += 1
    return seeds


def rerun_with_seeds(
    store: TrialStore,
    trial_ids: Sequence[int],
    seeds: int,
    *,
    sink: Sink | None = None,
    control: RunControl | None = None,
) -> list[FitEnded]:
    """Train each trial's config again with `seeds` new seeds, one run after another; a stop request ends the
    series after the current run. A stored config that no longer validates raises ConfigError naming the trial."""
    control = control or RunControl()
    results: list[FitEnded] = []
    for cfg in plan_reruns(store, trial_ids, seeds):
        if control.stop_requested:
            break
        results.append(run_training(cfg, sink=sink, control=control, store=store))
    return results


def queue_reruns(store: TrialStore, trial_ids: Sequence[int], seeds: int) -> list[int]:
    """Queue the runs `rerun_with_seeds` would train, for `tunelab worker --queue` to train; their trial ids."""
    return [queue_run(store, cfg) for cfg in plan_reruns(store, trial_ids, seeds)]


def plan_reruns(store: TrialStore, trial_ids: Sequence[int], seeds: int) -> list[RunConfig]:
    """The configs of the re-runs: each trial's config with `seeds` seeds unused by any trial of that config."""
    if seeds < 1:
        raise ConfigError("seeds", seeds, "at least 1 new seed per trial")
    plans: list[RunConfig] = []
    taken: dict[str | None, set[int | None]] = {}  # seeds per config, including those planned here
    for trial_id in dict.fromkeys(trial_ids):  # a trial picked twice runs once
        trial = store.get_trial(trial_id)
        if trial.kind != "train":
            raise ConfigError("trial", trial_id, f"a training trial (trial {trial_id} is a {trial.kind} trial)")
        cfg = stored_run_config(trial_id, trial.config)
        key = trial.config_key
        if key not in taken:
            taken[key] = {t.seed for t in store.list_trials(config_key=key)} if key else set()
        new = unused_seeds(taken[key], seeds)
        taken[key].update(new)  # two picked trials of one config get different new seeds
        plans += [cfg.replace(**{"train.seed": seed}) for seed in new]
    return plans
