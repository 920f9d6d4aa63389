"""Stored trials as TensorBoard runs, so `tensorboard --logdir DIR` shows them beside runs from other tools.

One run folder per trial (`trial-<id>`), one event file in it: per epoch the training and validation loss and
accuracy, the learning rate and the epoch's seconds; and the trial's hyperparameters (its config flattened to
dotted names) with its final metrics in the HParams view. Written with tensorboardX (no TensorFlow)."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Iterable, Sequence

from trainers.spec.errors import StoreError
from trainers.store import TrialStore
from trainers.store.records import EpochRecord, TrialRecord

# The kinds `--all` exports: the runs with a model (a search's own trial is the sum of its training trials).
EXPORTED_KINDS = ("train", "ensemble")
# epoch column -> scalar tag (grouped by split, so TensorBoard shows train/ and val/ sections)
EPOCH_TAGS = {
    "train_loss": "train/loss",
    "train_acc": "train/accuracy",
    "val_loss": "val/loss",
    "val_acc": "val/accuracy",
    "lr": "train/learning_rate",
    "seconds": "time/epoch_seconds",
    "samples_per_sec": "time/samples_per_second",
}
# trial column -> the metric the HParams view shows (its own tag, kept apart from the per-epoch scalars)
FINAL_METRICS = {
    "best_val_acc": "hparam/best_val_acc",
    "best_val_loss": "hparam/best_val_loss",
    "test_acc": "hparam/test_acc",
    "test_loss": "hparam/test_loss",
    "final_train_loss": "hparam/final_train_loss",
    "epochs_run": "hparam/epochs_run",
    "duration_s": "hparam/duration_s",
}
EVENT_PREFIX = "events.out.tfevents"


def run_name(trial: TrialRecord) -> str:
    return f"trial-{trial.id}"


def _flat(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def hyperparameters(trial: TrialRecord) -> dict[str, bool | int | float | str]:
    """The trial's config as dotted names with values TensorBoard takes (lists as text, empty values left out),
    plus what it is: kind, status, dataset."""
    out: dict[str, bool | int | float | str] = {"kind": trial.kind, "status": trial.status}
    if trial.dataset_label or trial.dataset:
        out["dataset"] = trial.dataset_label or trial.dataset
    for name, value in _flat(trial.config).items():
        if value is None or value == "":
            continue
        if isinstance(value, float) and not math.isfinite(value):
            value = str(value)
        out[name] = value if isinstance(value, (bool, int, float, str)) else str(value)
    return out


def final_metrics(trial: TrialRecord) -> dict[str, float]:
    values = {tag: getattr(trial, column) for column, tag in FINAL_METRICS.items()}
    return {tag: float(v) for tag, v in values.items() if v is not None and math.isfinite(float(v))}


def _clear(folder: Path) -> None:
    """Remove the event files of an earlier export of the same trial, so a run is never shown twice."""
    for old in folder.glob(f"{EVENT_PREFIX}*"):
        old.unlink()


def write_run(trial: TrialRecord, epochs: Sequence[EpochRecord], logdir: Path) -> Path:
    """One trial as one run folder under `logdir`; returns the folder."""
    from tensorboardX import SummaryWriter
    from tensorboardX.summary import hparams

    folder = logdir / run_name(trial)
    folder.mkdir(parents=True, exist_ok=True)
    _clear(folder)
    writer = SummaryWriter(logdir=str(folder), flush_secs=3600)
    try:
        for e in epochs:
            for column, tag in EPOCH_TAGS.items():
                value = getattr(e, column)
                if value is not None and math.isfinite(value):
                    writer.add_scalar(tag, float(value), e.epoch)
        metrics = final_metrics(trial)
        for summary in hparams(hyperparameters(trial), metrics):  # experiment, session start, session end
            writer.file_writer.add_summary(summary)
        last = epochs[-1].epoch if epochs else 0
        for tag, value in metrics.items():
            writer.add_scalar(tag, value, last)
    finally:
        writer.close()
    return folder


def export_tensorboard(
    store: TrialStore, trial_ids: Iterable[int] | None, logdir: str | os.PathLike[str]
) -> list[Path]:
    """Write the trials `trial_ids` (None: every finished training trial and ensemble) as TensorBoard runs under
    `logdir`; returns the run folders, in the order written. A trial exported again replaces its earlier run."""
    root = Path(logdir).expanduser()
    if trial_ids is None:
        trials = [t for t in store.list_trials(kind=EXPORTED_KINDS, order_by="id", descending=False) if not t.running]
    else:
        trials = [store.get_trial(int(i)) for i in trial_ids]
    try:
        return [write_run(t, store.epochs(t.id), root) for t in trials]
    except OSError as exc:
        raise StoreError(f"cannot write TensorBoard runs to {root}: {exc.strerror or exc}") from None
