"""Members from the trial store: the top K training trials by a validation metric, or the trials named, each with
saved weights, all on one dataset split (architectures may differ)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainers.ensembles.member_models import Member
from trainers.spec.config import RunConfig, normalised_dict
from trainers.spec.ensemble_settings import SECTION, EnsembleSettings
from trainers.spec.errors import ConfigError
from trainers.store import TrialQuery, TrialStore
from trainers.store.artifact_fetch import local_file, reachable
from trainers.store.records import TrialRecord
from trainers.training.checkpoints import load_checkpoint

# Data fields that change how training batches look, not which samples the validation and test splits hold
# or how inputs are standardised: members may differ in these.
TRAINING_ONLY_DATA = ("augment_flip", "augment_crop_padding", "num_workers", "in_memory_limit_mb", "download")
USABLE_STATUSES = ("completed", "stopped")
PAGE = 200


@dataclass(frozen=True)
class Candidate:
    trial: TrialRecord
    checkpoint: Path

    @property
    def label(self) -> str:
        t = self.trial
        seed = f" · seed {t.seed}" if t.seed is not None else ""
        data = f" · {t.dataset_label}" if t.dataset_label else ""
        return f"#{t.id} · {t.model}{seed}{data}"


def data_key(config: dict[str, Any]) -> dict[str, Any]:
    """The data fields that decide which samples each split holds and how inputs look; fields the source does not
    read (a CSV path left in a digits config, also in trials stored before this rule) count as their defaults."""
    data = normalised_dict(config).get("data") or {}
    return {k: v for k, v in data.items() if k not in TRAINING_ONLY_DATA}


def checkpoint_of(trial: TrialRecord, store: TrialStore | None = None) -> Path | None:
    """The weights a trial was scored with (its best epoch's), else its last. With the trial's `store`, a file
    another host wrote is found in this host's view of the store's folder or fetched from the store's database
    (trainers/store/artifact_fetch.py); without it, only the recorded paths count."""
    for path in (trial.checkpoint_best, trial.checkpoint_last):
        if store is not None:
            found = local_file(store, trial.id, path)
            if found is not None:
                return found
        elif path and Path(path).is_file():
            return Path(path)
    return None


def has_weights(trial: TrialRecord, store: TrialStore) -> bool:
    """Whether checkpoint_of(trial, store) would find weights, without fetching any."""
    return reachable(store, trial.id, trial.checkpoint_best) or reachable(store, trial.id, trial.checkpoint_last)


def fallback_note(store: TrialStore, members: list[Member]) -> str:
    """Which stored members use their last epoch's weights because their best epoch's file is gone: they are not
    the weights the trial was scored with, so the result says so."""
    notes = []
    for member in members:
        if member.trial_id is None:
            continue
        trial = store.get_trial(member.trial_id)
        if not reachable(store, trial.id, trial.checkpoint_best) and has_weights(trial, store):
            notes.append(
                f"trial {trial.id}: its best epoch's weights (best.pt) are missing, so its last epoch's "
                f"(last.pt) are used"
            )
    return "; ".join(notes)


def _why_unusable(trial: TrialRecord, store: TrialStore) -> str:
    if trial.kind != "train":
        return f"trial {trial.id} is a {trial.kind} trial, not a training run"
    if trial.status not in USABLE_STATUSES:
        return f"trial {trial.id} is {trial.status}"
    if not has_weights(trial, store):
        return f"trial {trial.id} has no saved weights (it ran with train.checkpoints off, or they were deleted)"
    return ""


def _different_data(first: TrialRecord, other: TrialRecord) -> str:
    a, b = data_key(first.config), data_key(other.config)
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            return (
                f"trials {first.id} and {other.id} use different data (data.{key} {a.get(key)!r} vs "
                f"{b.get(key)!r}): members must share one dataset and split"
            )
    return ""


def named_candidates(store: TrialStore, ids: tuple[int, ...]) -> list[Candidate]:
    out: list[Candidate] = []
    for trial_id in ids:
        trial = store.get_trial(trial_id)
        reason = _why_unusable(trial, store) or (_different_data(out[0].trial, trial) if out else "")
        if reason:
            raise ConfigError(
                f"{SECTION}.trials",
                trial_id,
                f"a finished training trial with saved weights on the others' data ({reason})",
            )
        out.append(Candidate(trial, checkpoint_of(trial, store)))  # type: ignore[arg-type]
    return out


def latest_dataset(store: TrialStore) -> str | None:
    """The dataset label of the most recent usable training trial (None when there is none): the dataset "Top K"
    ranks within, so a one-off run on a small table elsewhere never decides which data the members share."""
    offset = 0
    while True:
        page = store.list_trials(kind="train", status=USABLE_STATUSES, order_by="id", limit=PAGE, offset=offset)
        for trial in page:
            if not _why_unusable(trial, store):
                return trial.dataset_label
        if len(page) < PAGE:
            return None
        offset += PAGE


def top_candidates(store: TrialStore, k: int, select_by: str, field: str = "top") -> list[Candidate]:
    """The best K usable trials by rank on the dataset of the most recent usable training trial; the best one's
    data (splits, standardisation) decides which others can join it. `field` is the setting K came from."""
    dataset = latest_dataset(store)
    on_dataset = (("dataset_label", dataset),) if dataset is not None else ()
    statuses = tuple(("status", s) for s in USABLE_STATUSES)
    query = TrialQuery(metric=select_by, filters=(("kind", "train"), *statuses, *on_dataset))
    out: list[Candidate] = []
    offset = 0
    while len(out) < k:
        page = store.query_trials(query, offset=offset, limit=PAGE)
        for ranked in page:
            trial = ranked.trial
            if ranked.rank is None or _why_unusable(trial, store) or (out and _different_data(out[0].trial, trial)):
                continue
            out.append(Candidate(trial, checkpoint_of(trial, store)))  # type: ignore[arg-type]
            if len(out) == k:
                break
        if len(page) < PAGE:
            break
        offset += PAGE
    if len(out) < 2:
        raise ConfigError(
            f"{SECTION}.{field}",
            k,
            f"at least two finished training trials with saved weights on one dataset (the store has {len(out)} on "
            f"{dataset or 'any dataset'}, the dataset of the most recent one)",
        )
    return out


def candidates(store: TrialStore, settings: EnsembleSettings) -> list[Candidate]:
    """The trials named, else the top K by rank (greedy selection: the best `pool`, which it chooses among)."""
    ids = settings.trial_ids()
    if ids:
        return named_candidates(store, ids)
    if settings.method == "greedy-selection":
        return top_candidates(store, settings.pool, settings.select_by, "pool")
    return top_candidates(store, settings.top, settings.select_by)


def load_members(cands: list[Candidate]) -> tuple[list[Member], RunConfig]:
    """The members' modules' configs and weights, and the first member's run config (its data is everyone's)."""
    members: list[Member] = []
    first: RunConfig | None = None
    for c in cands:
        try:
            cfg = RunConfig.from_dict(c.trial.config)
        except ConfigError as err:
            raise ConfigError(err.field, err.value, f"{err.allowed} (in the config of trial {c.trial.id})") from None
        state, _meta = load_checkpoint(c.checkpoint)
        members.append(Member(c.label, c.trial.id, cfg.model, state))
        first = first or cfg
    assert first is not None
    return members, first
