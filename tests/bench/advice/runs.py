"""Training and LR finder runs for the benchmark, cached in a trial store: a config already trained there is
read back, not trained again, so sections share runs and a rerun of the benchmark only trains what is new."""

from __future__ import annotations

import json
from typing import Any

from advice.tables import base_config, bundle
from trainers.api import LrFinderSettings, TrialStore, load_lr_finder, run_lr_finder, run_training
from trainers.data import DatasetBundle
from trainers.spec.config import RunConfig
from trainers.spec.events import LrFinderResult
from trainers.store.records import TrialRecord


def _key(kind: str, config: dict[str, Any], settings: dict[str, Any] | None = None) -> str:
    return json.dumps({"kind": kind, "config": config, "settings": settings or {}}, sort_keys=True)


def _bundle(table: str, cfg: RunConfig) -> DatasetBundle | None:
    """The table's shared splits when `cfg` reads the data as the base config does; else None, so the run loads
    its own (another train_fraction or split must not silently train on the base config's data)."""
    return bundle(table) if cfg.data == base_config(table).data else None


class Runs:
    """A trial store used as a cache of finished runs, keyed by the whole config (and the LR finder settings)."""

    def __init__(self, store_url: str) -> None:
        self.store = TrialStore(store_url)
        self.trained = 0  # runs this process trained (not read back)
        self._done: dict[str, int] = {}
        for t in self.store.list_trials():
            if t.status in ("completed", "diverged"):
                self._done[_key(t.kind, t.config, t.extra.get("range_test"))] = t.id

    def close(self) -> None:
        self.store.close()

    def train(self, table: str, cfg: RunConfig) -> TrialRecord:
        """The finished training trial of `cfg` on `table` (trained now when the store has none)."""
        key = _key("train", cfg.to_dict())
        if key not in self._done:
            result = run_training(cfg, store=self.store, bundle=_bundle(table, cfg))
            self._done[key] = result.trial_id
            self.trained += 1
        return self.store.get_trial(self._done[key])

    def lr_finder(self, table: str, cfg: RunConfig, settings: LrFinderSettings | None = None) -> LrFinderResult:
        """The LR finder run of `cfg` with `settings` on `table` (run now when the store has none)."""
        settings = settings or LrFinderSettings()
        key = _key("lr_test", cfg.to_dict(), settings.to_dict())
        if key not in self._done:
            result = run_lr_finder(cfg, settings, store=self.store, bundle=_bundle(table, cfg))
            self._done[key] = result.trial_id
            self.trained += 1
        return load_lr_finder(self.store, self._done[key])
