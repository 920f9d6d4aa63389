"""What every engine job does with a config before its loop runs: the store's summary columns and the thread
count for this run only."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch

from trainers.spec.config import RunConfig


def trial_summary(cfg: RunConfig) -> dict:
    """The columns the store ranks and filters by, taken from the config."""
    return {"dataset": cfg.data.source, "model": cfg.model.family, "optimizer": cfg.optim.name, "lr": cfg.optim.lr,
            "batch_size": cfg.train.batch_size, "dropout": cfg.model.dropout,
            "weight_decay": cfg.optim.weight_decay, "seed": cfg.train.seed, "epochs_planned": cfg.train.epochs}


@contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Use `threads` CPU threads for this run only (0: leave torch's setting alone)."""
    before = torch.get_num_threads()
    if threads > 0:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
