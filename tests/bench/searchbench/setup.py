"""What every measure shares: the budget, the data (the bundled digits and a generated CSV table), the space, and
TuneLab's search run on a real SQLite store with its journal beside it."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from trainers.api import SearchSettings, SearchSpace, TrialStore, run_search, search_trial_events
from trainers.spec.config import RunConfig
from trainers.spec.search_events import SearchResult

# The defaults for these fields; the optimizer stays Adam so both sides sample the same four values.
SPACE = {
    "optim.lr": "log:1e-05:0.1",
    "train.batch_size": "choice:32,64,128,256",
    "model.dropout": "float:0:0.5",
    "optim.weight_decay": "log:1e-06:0.01",
}
FIXED_FIELDS = (
    "model.hidden_layers",
    "model.hidden_units",
    "model.dropout",
    "optim.name",
    "optim.lr",
    "optim.weight_decay",
    "optim.momentum",
    "train.batch_size",
)


@dataclass(frozen=True)
class Budget:
    trials: int
    epochs: int
    seeds: int

    def text(self) -> str:
        return f"{self.trials} trials × up to {self.epochs} epochs, {self.seeds} search seed(s)"


def write_table(folder: Path, rows: int = 2400, features: int = 12, classes: int = 4) -> Path:
    """A deterministic table: the class is a noisy nonlinear function of a few features, the rest are noise (so
    which hyperparameters matter shows), plus a text column one-hot encoded by the loader."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, features))
    score = np.stack(
        [x[:, 0] * x[:, 1], np.sin(2 * x[:, 2]) + x[:, 3], x[:, 4] ** 2 - 1, -x[:, 0] + 0.5 * x[:, 5]], axis=1
    )
    label = (score + 0.6 * rng.normal(size=score.shape)).argmax(1)[:, None] % classes
    colour = np.array(["red", "green", "blue"])[(x[:, 6] > 0).astype(int) + (x[:, 7] > 1)]
    path = folder / "bench_table.csv"
    with path.open("w") as f:
        f.write(",".join([f"f{j}" for j in range(features)] + ["colour", "label"]) + "\n")
        for i in range(rows):
            f.write(",".join([f"{v:.5f}" for v in x[i]] + [str(colour[i]), f"class{int(label[i, 0])}"]) + "\n")
    return path


def base_configs(folder: Path) -> dict[str, RunConfig]:
    """TuneLab's defaults on each dataset, one torch thread, no checkpoints (the quality measures need none)."""
    common = {"train.threads": 1, "train.checkpoints": False}
    return {
        "digits": RunConfig().replace(**common),
        "table": RunConfig().replace(
            **{**common, "data.source": "csv", "data.path": str(write_table(folder)), "data.target_column": "label"}
        ),
    }


def space_of(cfg: RunConfig, entries: dict[str, str] | None = None) -> SearchSpace:
    return SearchSpace.from_dict(entries or SPACE, cfg)


def fixed_values(cfg: RunConfig) -> dict[str, Any]:
    raw = cfg.to_dict()
    return {f: raw[f.split(".")[0]][f.split(".")[1]] for f in FIXED_FIELDS}


@dataclass(frozen=True)
class Searched:
    best: float
    epochs: int  # epochs trained over every trial
    seconds: float
    result: SearchResult


def tunelab_search(store: TrialStore, cfg: RunConfig, space: SearchSpace, **settings: Any) -> Searched:
    """One TuneLab search on the store (one worker unless told), and the epochs its trials trained."""
    chosen = SearchSettings().replace(**{"lr_finder_seed": False, "pruner": "none", **settings})
    t0 = time.perf_counter()
    result = run_search(cfg, space, chosen, store=store)
    seconds = time.perf_counter() - t0
    assert result.search_id is not None and result.best_value is not None, result.message
    epochs = sum(e.epochs for e in search_trial_events(store, result.search_id))
    return Searched(result.best_value, epochs, seconds, result)


def mean_sd(values: list[float], scale: float = 100.0) -> str:
    """'98.15 ± 0.30' (points of accuracy by default)."""
    m = statistics.fmean(values) * scale
    sd = statistics.stdev(values) * scale if len(values) > 1 else 0.0
    return f"{m:.2f} ± {sd:.2f}"
