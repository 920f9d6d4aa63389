"""Finished trials logged to an MLflow tracking server or database, each as one MLflow run written in batches: the
config as parameters, the metrics of every epoch (step = epoch) and the final ones, the status and notes as tags.

MLflow is an optional extra (`pip install 'tunelab[mlflow]'`); without it the call says so in one line. A trial
already logged from the same store is left as it is, so logging `--all` again adds only what is new."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from sqlalchemy.engine import make_url

from trainers.spec.errors import ConfigError, StoreError
from trainers.store import TrialStore
from trainers.store.records import EpochRecord, TrialRecord
from trainers.trials.tensorboard_export import EXPORTED_KINDS, hyperparameters

DEFAULT_EXPERIMENT = "TuneLab"
# TuneLab status -> MLflow run status
RUN_STATUS = {"completed": "FINISHED", "diverged": "FAILED", "failed": "FAILED"}  # stopped, pruned, ...: KILLED
EPOCH_METRICS = ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds")
FINAL_METRICS = ("best_val_acc", "best_val_loss", "test_acc", "test_loss", "final_train_loss")
# MLflow's limits for one log_batch call
MAX_METRICS, MAX_PARAMS, MAX_TAGS = 1000, 100, 100
PARAM_CHARS = 6000


@dataclass(frozen=True)
class LoggedTrial:
    trial_id: int
    run_id: str
    new: bool  # False: it had been logged from this store before and was left as it was


def _mlflow() -> Any:
    try:
        import mlflow.entities as entities
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise ConfigError(
            "tracking",
            "mlflow",
            "MLflow is not installed: pip install 'tunelab[mlflow]' (or pip install mlflow-skinny)",
        ) from None
    return MlflowClient, entities


def _ms(moment: Any) -> int | None:
    return int(moment.timestamp() * 1000) if moment is not None else None


def _metrics(entities: Any, trial: TrialRecord, epochs: Sequence[EpochRecord]) -> list[Any]:
    """Each epoch's metrics at step = epoch (time: the trial's start plus the epochs' own seconds), then the final
    ones at the last step."""
    start = _ms(trial.started_at or trial.created_at) or 0
    out, elapsed = [], 0.0
    for e in epochs:
        elapsed += e.seconds or 0.0
        for name in EPOCH_METRICS:
            value = getattr(e, name)
            if value is not None and math.isfinite(value):
                key = "epoch_seconds" if name == "seconds" else name
                out.append(entities.Metric(key, float(value), start + int(elapsed * 1000), e.epoch))
    end = _ms(trial.ended_at) or start
    for name in FINAL_METRICS:
        value = getattr(trial, name)
        if value is not None and math.isfinite(value):
            out.append(entities.Metric(name, float(value), end, trial.epochs_run))
    return out


def _tags(trial: TrialRecord, store_name: str) -> dict[str, str]:
    tags = {
        "tunelab.trial_id": str(trial.id),
        "tunelab.store": store_name,
        "tunelab.kind": trial.kind,
        "tunelab.status": trial.status,
        "tunelab.dataset": trial.dataset_label or trial.dataset,
        "tunelab.diagnosis": trial.diagnosis or "",
        "mlflow.note.content": trial.notes,
        "tunelab.message": trial.message[:PARAM_CHARS],
    }
    return {k: v for k, v in tags.items() if v}


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for at in range(0, len(items), size):
        yield items[at : at + size]


def _log_one(client: Any, entities: Any, experiment_id: str, trial: TrialRecord, store: TrialStore, name: str) -> str:
    run = client.create_run(
        experiment_id,
        start_time=_ms(trial.started_at or trial.created_at),
        tags=_tags(trial, name),
        run_name=trial.name or f"trial-{trial.id}",
    )
    run_id = run.info.run_id
    params = [entities.Param(k, str(v)[:PARAM_CHARS]) for k, v in hyperparameters(trial).items()]
    for chunk in _chunks(params, MAX_PARAMS):
        client.log_batch(run_id, params=chunk)
    for chunk in _chunks(_metrics(entities, trial, store.epochs(trial.id)), MAX_METRICS):
        client.log_batch(run_id, metrics=chunk)
    client.set_terminated(run_id, RUN_STATUS.get(trial.status, "KILLED"), end_time=_ms(trial.ended_at))
    return str(run_id)


def log_to_mlflow(
    store: TrialStore, trial_ids: Iterable[int] | None, tracking_uri: str, experiment: str = DEFAULT_EXPERIMENT
) -> list[LoggedTrial]:
    """Log the finished trials `trial_ids` (None: every finished training trial and ensemble) to the MLflow
    experiment `experiment` at `tracking_uri` (created when missing). Running trials are left for a later call."""
    client_class, entities = _mlflow()
    from mlflow.exceptions import MlflowException

    name = make_url(store.url).render_as_string(hide_password=True)
    if trial_ids is None:
        trials = store.list_trials(kind=EXPORTED_KINDS, order_by="id", descending=False)
    else:
        trials = [store.get_trial(int(i)) for i in trial_ids]
    try:
        client = client_class(tracking_uri=tracking_uri)
        found = client.get_experiment_by_name(experiment)
        experiment_id = found.experiment_id if found is not None else client.create_experiment(experiment)
        logged = []
        for trial in (t for t in trials if not t.running):
            where = f"tags.`tunelab.trial_id` = '{trial.id}' and tags.`tunelab.store` = '{name}'"
            before = client.search_runs([experiment_id], where, max_results=1)
            if before:
                logged.append(LoggedTrial(trial.id, before[0].info.run_id, new=False))
            else:
                logged.append(
                    LoggedTrial(trial.id, _log_one(client, entities, experiment_id, trial, store, name), True)
                )
    except MlflowException as exc:
        first = str(exc.message if hasattr(exc, "message") else exc).strip().splitlines()[0]
        raise StoreError(f"MLflow at {tracking_uri} refused the trials: {first}") from None
    return logged
