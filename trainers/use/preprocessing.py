"""The preprocessing a trial's model needs: stored with the trial when its data loaded, or, for a trial stored
before that, worked out again from the data config it ran with (same source, same seeded splits, same statistics).

The description itself lives with the data sources (trainers.data.preprocessing), which write it as they load."""

from __future__ import annotations

from typing import Any

from trainers.data import load_dataset
from trainers.data.preprocessing import Column, Preprocessing
from trainers.spec.config import DataConfig
from trainers.spec.errors import DataError
from trainers.store import TrialStore
from trainers.use.trial_model import trial_config

__all__ = ["Column", "Preprocessing", "preprocessing_for_config", "preprocessing_for_trial", "preprocessing_json"]

EXTRA_KEY = "preprocessing"  # where a trial's extra JSON keeps it


def preprocessing_for_config(data: DataConfig, bundle: Any = None) -> Preprocessing:
    """The preprocessing of the data this config loads (reads the data, unless the caller has `bundle` loaded from
    it already: the statistics come from it)."""
    prep = (bundle if bundle is not None else load_dataset(data)).preprocessing
    if prep is None:
        raise DataError(f"data source {data.source!r} does not describe its preprocessing")
    return prep


def preprocessing_json(data: Any) -> dict[str, Any] | None:
    """The JSON a trial stores for a loaded DatasetBundle (None when its source describes none)."""
    prep = getattr(data, "preprocessing", None)
    return prep.to_json() if prep is not None else None


def preprocessing_for_trial(store: TrialStore, trial_id: int, bundle: Any = None) -> Preprocessing:
    """The trial's stored preprocessing; for a trial stored before preprocessing was kept, recomputed from its
    config's data source (and stored with it, when the store is writable, so this happens once)."""
    trial = store.get_trial(trial_id)
    stored = trial.extra.get(EXTRA_KEY)
    if isinstance(stored, dict):
        return Preprocessing.from_json(stored)
    prep = preprocessing_for_config(trial_config(trial).data, bundle)
    if not getattr(store, "read_only", False):
        store.update_trial(trial_id, extra={EXTRA_KEY: prep.to_json()})
    return prep
