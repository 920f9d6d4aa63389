"""Storage, overhead, parallel workers and the vectorised-trials hook.

- storage: what one search trial writes to Optuna's storage (ask, four suggested values, its TuneLab trial id, one
  intermediate value per epoch, tell, and the budget's look at every trial) on the journal beside the store vs
  Optuna's in-memory storage: the difference per trial. Then N `tunelab worker` processes started at once on a fresh
  store (the SQLite file does not exist yet: every worker creates or opens it) with one tiny trial each: workers
  that exit non-zero, trials that failed, trials that completed.
- overhead: the same tiny trial as a TuneLab search trial, as run_training called from a plain Optuna objective,
  and as the plain loop of plain.py in a plain Optuna objective: per-trial time ratios.
- parallel: a search of small trials with 2 worker processes vs 1 in-process worker (threads: the cores shared
  among the workers, TuneLab's default): trials per hour, from the search's start (worker start-up included) and
  between the first trial's start and the last one's end.
"""

from __future__ import annotations

import importlib.util
import statistics
import subprocess
import tempfile
import time
from dataclasses import fields
from pathlib import Path

import optuna
from optuna.trial import TrialState
from workersbench.throughput import hour_long_ratio

from searchbench.plain import plain_search
from searchbench.setup import fixed_values, space_of, tunelab_search
from trainers.api import SearchSettings, TrialStore, run_training, search_trial_events
from trainers.data import load_dataset
from trainers.search.storage import open_storage
from trainers.search.study import create_search, quiet_optuna
from trainers.search.workers import worker_command
from trainers.spec.config import RunConfig
from trainers.spec.search_space import sample_config

TINY = RunConfig().replace(
    **{"train.threads": 1, "train.checkpoints": False, "train.epochs": 3, "model.hidden_units": 64}
)
DROPOUT = {"model.dropout": "float:0:0.5"}  # the work per trial does not depend on the value


def _one_trial(study: optuna.Study, epochs: int) -> None:
    study.get_trials(deepcopy=False)  # the budget's look before each ask
    t = study.ask()
    for name in ("a", "b", "c"):
        t.suggest_float(name, 1e-5, 1e-1, log=True)
    t.suggest_categorical("d", [32, 64, 128, 256])
    t.set_user_attr("trial_id", t.number + 1)
    for epoch in range(1, epochs + 1):
        t.report(0.5 + epoch / 100, epoch)
    study.tell(t, 0.9)


def storage_overhead(trials: int, epochs: int) -> float:
    """Milliseconds per trial the journal adds over Optuna's in-memory storage."""
    quiet_optuna()
    per: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("memory", "journal"):
            storage = None if kind == "memory" else open_storage(str(Path(tmp) / "runs.optuna.journal"))
            study = optuna.create_study(storage=storage, sampler=optuna.samplers.RandomSampler(seed=0))
            t0 = time.perf_counter()
            for _ in range(trials):
                _one_trial(study, epochs)
            per[kind] = (time.perf_counter() - t0) / trials * 1000
    print(f"  storage per trial ({epochs} reports): journal {per['journal']:.1f} ms, memory {per['memory']:.1f} ms")
    return per["journal"] - per["memory"]


def workers_at_once(count: int) -> tuple[int, int, int, float]:
    """(workers that failed, trials failed, trials completed, seconds) for `count` workers started together."""
    with tempfile.TemporaryDirectory() as tmp:
        store_url, storage = str(Path(tmp) / "runs.db"), str(Path(tmp) / "runs.optuna.journal")
        cfg = TINY.replace(**{"data.train_fraction": 0.1, "train.epochs": 1})
        settings = SearchSettings().replace(trials=count, pruner="none", lr_finder_seed=False, workers=count)
        search = create_search(storage, None, cfg, space_of(cfg, DROPOUT), settings, store_url)
        t0 = time.perf_counter()
        procs = [
            subprocess.Popen(
                worker_command(storage, search.name, i, 1), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            for i in range(count)
        ]
        errors = [p.communicate()[1] for p in procs]
        seconds = time.perf_counter() - t0
        bad = [i for i, p in enumerate(procs) if p.returncode != 0]
        for i in bad[:2]:
            print(f"  worker {i} exited {procs[i].returncode}: {errors[i].decode()[-300:]}")
        trials = search.study.get_trials(deepcopy=False)
        failed = sum(1 for t in trials if t.state == TrialState.FAIL)
        done = sum(1 for t in trials if t.state == TrialState.COMPLETE)
        with TrialStore(store_url, read_only=True) as store:
            stored = len(store.list_trials(kind="train", status="completed"))
    print(
        f"  {count} workers at once on a fresh store: {len(bad)} failed workers, {failed} failed trials, "
        f"{done} complete ({stored} in the store), {seconds:.1f} s"
    )
    return len(bad), failed, done, seconds


def overhead(trials: int, rounds: int, epochs: int) -> tuple[float, float]:
    """(TuneLab search trial / run_training in a plain Optuna objective, TuneLab / the plain loop) for a digits MLP
    of `epochs` epochs: the median time from one trial's end to the next one's, so a search's one-off start (its
    trial, the study) is not counted."""
    cfg = TINY.replace(**{"train.epochs": epochs})
    space = space_of(cfg, DROPOUT)
    data = load_dataset(cfg.data)
    gaps: dict[str, list[float]] = {"tunelab": [], "optuna+run_training": [], "optuna+plain loop": []}
    with tempfile.TemporaryDirectory() as tmp, TrialStore(str(Path(tmp) / "runs.db")) as store:
        for r in range(rounds):
            s = tunelab_search(store, cfg, space, trials=trials, sampler="random", seed=r)
            gaps["tunelab"] += _gaps(
                optuna.load_study(study_name=s.result.study, storage=open_storage(s.result.storage))
            )

            def objective(trial: optuna.Trial) -> float:
                sampled, _ = sample_config(space, cfg, trial)
                return float(run_training(sampled, store=store).best_val_acc or 0.0)

            study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=r))
            study.optimize(objective, n_trials=trials)
            gaps["optuna+run_training"] += _gaps(study)
            gaps["optuna+plain loop"] += _gaps(plain_search(data, space, fixed_values(cfg), trials, epochs, r).study)
    med = {k: statistics.median(v) * 1000 for k, v in gaps.items()}
    print(
        f"  per-trial time ({epochs}-epoch digits MLP, median end-to-end gap): "
        + ", ".join(f"{k} {v:.0f} ms" for k, v in med.items())
    )
    return med["tunelab"] / med["optuna+run_training"], med["tunelab"] / med["optuna+plain loop"]


def _gaps(study: optuna.Study) -> list[float]:
    ends = sorted(t.datetime_complete for t in study.get_trials(deepcopy=False) if t.datetime_complete)
    return [(b - a).total_seconds() for a, b in zip(ends, ends[1:])]


def parallel(trials: int, epochs: int) -> tuple[float, float, float]:
    """(trials/hour ratio 2 workers vs 1 from the search's start, the same between first start and last end, the
    same over an hour-long search: this search's start-up as measured, then its running rate for the rest of the
    hour — bench_workers' reading)."""
    cfg = TINY.replace(**{"train.threads": 0, "train.epochs": epochs, "model.hidden_units": 256})
    space = space_of(cfg, DROPOUT)
    rate: dict[int, tuple[float, float]] = {}
    start_up: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp, TrialStore(str(Path(tmp) / "runs.db")) as store:
        for workers in (1, 2):
            s = tunelab_search(store, cfg, space, trials=trials, sampler="random", workers=workers)
            study = optuna.load_study(study_name=s.result.study, storage=open_storage(s.result.storage))
            done = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
            span = (max(t.datetime_complete for t in done) - min(t.datetime_start for t in done)).total_seconds()
            rate[workers] = (len(done) / s.seconds * 3600, len(done) / span * 3600)
            start_up[workers] = s.seconds - span
            print(
                f"  {workers} worker(s): {len(done)} trials in {s.seconds:.1f} s → {rate[workers][0]:.0f} "
                f"trials/h ({rate[workers][1]:.0f} trials/h between the first start and the last end)"
            )
    hour = hour_long_ratio((rate[2][1], start_up[2]), (rate[1][1], start_up[1]))
    return rate[2][0] / rate[1][0], rate[2][1] / rate[1][1], hour


def vectorised(count: int = 8, rounds: int = 3) -> str:
    """`count` trials of continuous hyperparameters (the same random-sampler draws both ways) trained as one stack
    (the search setting `vectorise`) vs one after another, in `rounds` interleaved rounds: the median trials per
    hour of each, and whether each trial's value is the same in every round. A first round of each, not counted,
    warms the process up. Without vectorised trials in the
    engine, the line that says where they are measured."""
    names = {f.name for f in fields(SearchSettings)}
    if importlib.util.find_spec("trainers.search.vectorised") is None or "vectorise" not in names:
        return "vectorised: see bench_search --vectorised"
    cfg = TINY.replace(**{"train.epochs": 10})
    space = space_of(cfg, {"optim.lr": "log:1e-4:1e-2", "optim.weight_decay": "log:1e-6:1e-3", **DROPOUT})
    rates: dict[int, list[float]] = {0: [], count: []}
    same = True
    with tempfile.TemporaryDirectory() as tmp, TrialStore(str(Path(tmp) / "runs.db")) as store:
        for k in (0, count):  # a process's first trainings pay one-off costs (imports, first allocations)
            tunelab_search(store, cfg, space, trials=count, sampler="random", vectorise=k)
        for r in range(rounds):
            results = {}
            for k in (0, count) if r % 2 == 0 else (count, 0):
                s = tunelab_search(store, cfg, space, trials=count, sampler="random", vectorise=k)
                events = sorted(search_trial_events(store, int(s.result.search_id or 0)), key=lambda e: e.number)
                rates[k].append(count / s.seconds * 3600)
                results[k] = [(e.params, e.value) for e in events]
                print(f"  round {r + 1}, vectorise={k}: {count} trials in {s.seconds:.2f} s")
            same = same and results[0] == results[count]
    ratio = statistics.median(rates[count]) / statistics.median(rates[0])
    each = ", ".join(f"{a / b:.2f}" for a, b in zip(rates[count], rates[0]))
    return (
        f"vectorised trials: {count} stacked vs one after another → {ratio:.2f}× trials per hour (median of "
        f"{rounds} rounds after a warm-up; each {each}), {'equal' if same else 'different'} results "
        "(target ≥ 3×, equal)"
    )
