"""Run diagnosis: from a run's per-epoch curves, a label with its evidence and ranked interventions.

Labels: diverged, lr_too_high, underfitting (learning rate too low or underfitting), overfitting (with the
epoch it began), good_fit, too_noisy. The rules live in trainers.diagnosis.rules and trainers.diagnosis.overfit_rule,
the interventions in trainers.diagnosis.interventions; this module ties them together. numpy and the standard library
only (no torch), so the GUI can diagnose a live run from the epochs it already holds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

from trainers.diagnosis.curves import curves_from
from trainers.diagnosis.interventions import Intervention, interventions_for
from trainers.diagnosis.overfit_rule import overfitting
from trainers.diagnosis.rules import (
    LABELS,
    SOURCE_CLASSES,
    TITLES,
    Evidence,
    Finding,
    diverged,
    failed,
    fit_or_noise,
    lr_too_high,
    reference,
    too_few,
    underfitting,
)
from trainers.spec.config import RunConfig
from trainers.spec.errors import ConfigError, StoreError
from trainers.spec.json_data import finite_json

__all__ = ["LABELS", "TITLES", "Diagnosis", "Evidence", "Intervention", "diagnose", "diagnose_record", "diagnose_trial"]


@dataclass(frozen=True)
class Diagnosis:
    """A label, a one-sentence summary, the numbers behind it and what to try, best first."""

    label: str
    title: str
    summary: str
    evidence: tuple[Evidence, ...]
    interventions: tuple[Intervention, ...]
    onset_epoch: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (a non-finite number becomes None)."""
        return finite_json(asdict(self))


def _config(config: dict | RunConfig | None) -> tuple[RunConfig | None, str]:
    """The run config (None when a stored one no longer validates) and its data source."""
    if config is None:
        return RunConfig(), ""
    if isinstance(config, RunConfig):
        return config, config.data.source
    source = str((config.get("data") or {}).get("source", ""))
    try:
        return RunConfig.from_dict(config), source
    except ConfigError:  # e.g. the CSV file moved: the curves can still be read
        return None, source


def diagnose(
    epochs: Sequence[Any],
    config: dict | RunConfig | None = None,
    status: str | None = None,
    diverged_step: int | None = None,
    num_classes: int | None = None,
    message: str = "",
) -> Diagnosis:
    """Label a run from its epochs (EpochRecord objects or dicts with train_loss, val_loss, train_acc,
    val_acc; any may be None or NaN). `config` is the run's config: the interventions' new values are
    computed from it (the defaults when None). The loss scale is ln(num_classes), taken from the config's
    data source when not given, else the first epoch's training loss. A failed run is labelled "failed"
    with its `message`: why it failed, not what its few epochs look like."""
    cfg, source = _config(config)
    curves = curves_from(epochs)
    ref = reference(curves, num_classes or SOURCE_CLASSES.get(source))
    finding = (
        failed(curves, status, message)
        or diverged(curves, ref, status, diverged_step)
        or too_few(curves)
        or lr_too_high(curves, ref)
        or overfitting(curves)
        or underfitting(curves, ref)
        or fit_or_noise(curves, ref)
    )
    return _diagnosis(finding, cfg)


def _diagnosis(finding: Finding, cfg: RunConfig | None) -> Diagnosis:
    return Diagnosis(
        finding.label,
        TITLES[finding.label],
        finding.summary,
        finding.evidence,
        interventions_for(finding, cfg),
        finding.onset_epoch,
    )


def diagnose_trial(store: Any, trial_id: int) -> Diagnosis:
    """Diagnose a stored training trial (any trainers.store.TrialStore). Raises StoreError for an unknown
    id or a trial that is not a training run."""
    trial = store.get_trial(trial_id)
    if trial.kind != "train":
        raise StoreError(
            f"trial {trial_id} is not a training run (it is a {trial.kind!r} trial): "
            f"only training runs have epochs to diagnose"
        )
    return diagnose_record(trial, store.epochs(trial_id))


def stored_classes(trial: Any) -> int | None:
    """The class count a run stored (runs recorded before it was kept: None, and the source decides)."""
    value = (getattr(trial, "extra", None) or {}).get("num_classes")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def diagnose_record(trial: Any, epochs: Sequence[Any]) -> Diagnosis:
    """Diagnose a stored trial (a TrialRecord) from its epochs, with what the store kept about it: its config,
    status, divergence step, class count and message."""
    return diagnose(
        epochs,
        trial.config,
        trial.status,
        trial.diverged_step,
        num_classes=stored_classes(trial),
        message=trial.message,
    )


def fill_diagnoses(store: Any, trial_ids: Sequence[int]) -> dict[int, str]:
    """Diagnose and store the label of finished training trials that have none yet (runs recorded before
    diagnoses were kept); returns id → label for those it filled. Unreadable trials are left empty."""
    filled: dict[int, str] = {}
    for trial_id in trial_ids:
        trial = store.get_trial(trial_id)
        if trial.kind != "train" or trial.diagnosis or trial.running or trial.status == "failed":
            continue
        label = diagnose_record(trial, store.epochs(trial_id)).label
        if not getattr(store, "read_only", False):  # a store opened for reading shows the label unsaved
            store.update_trial(trial_id, diagnosis=label)
        filled[trial_id] = label
    return filled
