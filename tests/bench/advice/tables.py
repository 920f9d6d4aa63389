"""The real classification tables the advice benchmark measures on (attribution: tests/bench/tables/README.md),
and the base run config for each: TuneLab's defaults on that table, one torch thread, weights kept."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from trainers.data import DatasetBundle, load_dataset
from trainers.spec.config import RunConfig

TABLE_DIR = Path(__file__).resolve().parents[1] / "tables"
# Generated tables are written here on first use (deterministic: the same rows on every machine).
GENERATED_DIR = Path(tempfile.gettempdir()) / "tunelab_bench_tables"


@dataclass(frozen=True)
class Table:
    name: str
    file: str  # "" for the bundled digits
    target: str = ""  # the CSV column holding the class ("" = the last column)


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table("digits", ""),
        Table("breast_cancer", "breast_cancer.csv", "diagnosis"),
        Table("penguins", "penguins.csv", "species"),
        Table("spam7", "spam7.csv", "yesno"),
        Table("hpc_jobs", "hpc_jobs.csv", "class"),
        Table("cells", "cells.csv", "class"),
        Table("gen_blobs", "gen_blobs.csv", "label"),
        Table("gen_checker", "gen_checker.csv", "label"),
    )
}
REAL = ("digits", "breast_cancer", "penguins", "spam7", "hpc_jobs", "cells")
GENERATED = ("gen_blobs", "gen_checker")


def _path(t: Table) -> Path:
    if t.name not in GENERATED:
        return TABLE_DIR / t.file
    path = GENERATED_DIR / t.file
    if not path.exists():
        GENERATED_DIR.mkdir(parents=True, exist_ok=True)
        write_generated(t.name, path)
    return path


def write_generated(name: str, path: Path) -> None:
    """gen_blobs: 10 Gaussian clusters in 20 dimensions with 5 % of labels flipped (3,000 rows);
    gen_checker: a 4-class checkerboard on two features plus 8 noise features (2,400 rows)."""
    rng = np.random.default_rng(12345)
    if name == "gen_blobs":
        centres = rng.normal(0, 1.2, size=(10, 20))
        y = rng.integers(0, 10, size=3000)
        x = centres[y] + rng.normal(0, 1.0, size=(3000, 20))
        flip = rng.random(3000) < 0.05
        y[flip] = rng.integers(0, 10, size=int(flip.sum()))
    else:
        x = rng.uniform(-2, 2, size=(2400, 10))
        y = (np.floor(x[:, 0]).astype(int) + np.floor(x[:, 1]).astype(int)) % 2 + 2 * (x[:, 0] > 0)
    header = ",".join(f"x{i}" for i in range(x.shape[1])) + ",label"
    rows = [",".join(f"{v:.5g}" for v in row) + f",c{label}" for row, label in zip(x, y)]
    path.write_text(header + "\n" + "\n".join(rows) + "\n")


def base_config(name: str, **changes: object) -> RunConfig:
    """TuneLab's default run on table `name` (one thread, weights kept), with dotted-field `changes`."""
    t = TABLES[name]
    data: dict[str, object] = (
        {} if not t.file else {"data.source": "csv", "data.path": str(_path(t)), "data.target_column": t.target}
    )
    return RunConfig().replace(**{**data, "train.threads": 1, "train.checkpoints": True, **changes})


@cache
def bundle(name: str) -> DatasetBundle:
    """The table's splits, loaded once per process (the data config is the same for every run on it)."""
    return load_dataset(base_config(name).data)


# The learning-rate grid the rules are judged against: eight points half a decade apart, across the rates Adam
# trains these models at (the best of them is the "grid best" each rule's regret is measured from).
LR_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1)
SEEDS = (0, 1, 2)
BUDGETS = (3, 5, 20)  # epochs: the short runs users train while tuning, and the default budget


def grid_config(name: str, lr: float, epochs: int, seed: int, **changes: object) -> RunConfig:
    """The default run on `name` at learning rate `lr`, for `epochs`, with `seed` (and any other changes)."""
    return base_config(name, **{"optim.lr": lr, "train.epochs": epochs, "train.seed": seed, **changes})
