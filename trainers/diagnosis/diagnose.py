"""Run diagnosis: from a run's per-epoch curves, a label with its evidence and ranked interventions.

Labels: diverged, lr_too_high, underfitting (learning rate too low or underfitting), overfitting (with the
epoch it began), good_fit, too_noisy. The rules live in trainers.diagnosis.rules, rate_rule, overfit_rule and
underfit_rule, the interventions in trainers.diagnosis.interventions; this module ties them together, in the order
that keeps a flat noisy curve from reading as oscillation (the rate rule measures swings against the curve's own
noise and the chance level). numpy and the standard library only (no torch), so the GUI can diagnose a live run
from the epochs it already holds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

from trainers.diagnosis.curves import curves_from
from trainers.diagnosis.interventions import Intervention, interventions_for
from trainers.diagnosis.lr_band import finder_runs, rate_place, stored_band
from trainers.diagnosis.overfit_rule import kept_best, overfitting
from trainers.diagnosis.rate_rule import lr_too_high
from trainers.diagnosis.rules import (
    LABELS,
    SOURCE_CLASSES,
    TITLES,
    Evidence,
    Finding,
    diverged,
    failed,
    fit_or_noise,
    reference,
    too_few,
)
from trainers.diagnosis.underfit_rule import narrower_than_default, underfitting
from trainers.spec.config import RunConfig
from trainers.spec.errors import ConfigError, StoreError
from trainers.spec.json_data import finite_json

__all__ = [
    "LABELS",
    "TITLES",
    "Diagnosis",
    "Evidence",
    "Intervention",
    "diagnose",
    "diagnosis_label",
    "diagnose_record",
    "diagnose_trial",
]


@dataclass(frozen=True)
class Diagnosis:
    """A label, a one-sentence summary, the numbers behind it and what to try, best first. `cause` says what an
    underfitting run is blamed on: "rate_low", "rate_high", "capacity" or "epochs" (None for other labels)."""

    label: str
    title: str
    summary: str
    evidence: tuple[Evidence, ...]
    interventions: tuple[Intervention, ...]
    onset_epoch: int | None = None
    cause: str | None = None

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
    lr_band: tuple[float, float] | None = None,
) -> Diagnosis:
    """Label a run from its epochs (EpochRecord objects or dicts with train_loss, val_loss, train_acc,
    val_acc; any may be None or NaN). `config` is the run's config: the interventions' new values are
    computed from it (the defaults when None). The loss scale is ln(num_classes), taken from the config's
    data source when not given; only without any class count the first epoch's training loss. `lr_band` is
    the LR finder's band (lowest, highest recommended rate) for this model and data when one is known: a high
    plateau at a rate far below it is underfitting blamed on the rate, far above it a rate too high. A failed run
    is labelled "failed" with its `message`: why it failed, not what its few epochs look like."""
    cfg, source = _config(config)
    given = cfg if config is not None else None  # the run's own config (None: the defaults stand in for it)
    return _diagnosis(_finding(epochs, given, source, status, diverged_step, num_classes, message, lr_band), cfg)


def diagnosis_label(
    epochs: Sequence[Any],
    config: RunConfig,
    status: str | None = None,
    diverged_step: int | None = None,
    num_classes: int | None = None,
) -> str:
    """diagnose(...).label without working out the interventions (a config each, validated): the label every
    training run stores as it ends."""
    return _finding(epochs, config, config.data.source, status, diverged_step, num_classes).label


def _finding(
    epochs: Sequence[Any],
    given: RunConfig | None,
    source: str,
    status: str | None,
    diverged_step: int | None,
    num_classes: int | None,
    message: str = "",
    lr_band: tuple[float, float] | None = None,
) -> Finding:
    """The first rule that holds, in the order that keeps a flat noisy curve from reading as oscillation."""
    curves = curves_from(epochs)
    ref = reference(curves, num_classes or SOURCE_CLASSES.get(source))
    kept = kept_best(curves, given)
    return (
        failed(curves, status, message)
        or diverged(curves, ref, status, diverged_step)
        or too_few(curves)
        or lr_too_high(curves, ref)
        or (overfitting(curves, ref) if kept is None else None)
        or underfitting(curves, ref, rate_place(given, lr_band), narrower_than_default(given))
        or fit_or_noise(curves, ref, kept)
    )


def _diagnosis(finding: Finding, cfg: RunConfig | None) -> Diagnosis:
    return Diagnosis(
        finding.label,
        TITLES[finding.label],
        finding.summary,
        finding.evidence,
        interventions_for(finding, cfg),
        finding.onset_epoch,
        finding.facts.get("cause"),
    )


def diagnose_trial(store: Any, trial_id: int) -> Diagnosis:
    """Diagnose a stored training trial (any trainers.store.TrialStore), with the band of the store's LR finder run
    on the same setup when there is one. Raises StoreError for an unknown id or a trial that is not a training
    run."""
    trial = store.get_trial(trial_id)
    if trial.kind != "train":
        raise StoreError(
            f"trial {trial_id} is not a training run (it is a {trial.kind!r} trial): "
            f"only training runs have epochs to diagnose"
        )
    return diagnose_record(trial, store.epochs(trial_id), store)


def stored_classes(trial: Any) -> int | None:
    """The class count a run stored (runs recorded before it was kept: None, and the source decides)."""
    value = (getattr(trial, "extra", None) or {}).get("num_classes")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def diagnose_record(trial: Any, epochs: Sequence[Any], store: Any = None) -> Diagnosis:
    """Diagnose a stored trial (a TrialRecord) from its epochs, with what the store kept about it: its config,
    status, divergence step, class count and message; given the `store`, also the band of the newest finished LR
    finder run there on the same dataset, model and optimizer (trainers.diagnosis.lr_band.stored_band)."""
    return _from_record(trial, epochs, stored_band(store, trial) if store is not None else None)


def _from_record(trial: Any, epochs: Sequence[Any], lr_band: tuple[float, float] | None) -> Diagnosis:
    return diagnose(
        epochs,
        trial.config,
        trial.status,
        trial.diverged_step,
        num_classes=stored_classes(trial),
        message=trial.message,
        lr_band=lr_band,
    )


def fill_diagnoses(store: Any, trial_ids: Sequence[int]) -> dict[int, str]:
    """Diagnose and store the label of finished training trials that have none yet (runs recorded before
    diagnoses were kept); returns id → label for those it filled. Unreadable trials are left empty."""
    filled: dict[int, str] = {}
    finders = finder_runs(store) if trial_ids else []  # read once for the whole page
    for trial_id in trial_ids:
        trial = store.get_trial(trial_id)
        if trial.kind != "train" or trial.diagnosis or trial.running or trial.queued or trial.status == "failed":
            continue
        label = _from_record(trial, store.epochs(trial_id), stored_band(store, trial, finders)).label
        if not getattr(store, "read_only", False):  # a store opened for reading shows the label unsaved
            store.update_trial(trial_id, diagnosis=label)
        filled[trial_id] = label
    return filled
