"""Failures at the edge of a run, as a user reads them: a checkpoint that cannot be written, and an ensemble
whose member's best weights are gone."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from trainers.api import run_ensemble, run_training
from trainers.spec.config import RunConfig
from trainers.spec.ensemble_settings import EnsembleSettings
from trainers.store import TrialStore
from trainers.training import checkpoints

QUICK = RunConfig().replace(**{"train.epochs": 1, "train.threads": 1, "train.device": "cpu"})


def _disk_full(*_args: object, **_kwargs: object) -> None:
    """torch.save on a full disk: its RuntimeError carries the OSError only as context."""
    error = RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 768 vs 662")
    error.__context__ = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    raise error


def test_a_full_disk_ends_the_run_with_the_epoch_it_finished(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checkpoints.torch, "save", _disk_full)
    with TrialStore(str(tmp_path / "t.db")) as store:
        result = run_training(QUICK, store=store)
        trial = store.get_trial(result.trial_id)
    assert result.status == "failed"
    assert "no space left on device" in result.message and "best.pt" in result.message
    assert "enforce fail" not in result.message
    line = json.loads(result.to_json())
    assert line["epochs_run"] == 1 and line["best_epoch"] == 1  # never epochs_run 0 beside best_epoch 1
    assert trial.epochs_run == 1 and trial.status == "failed"


def test_an_ensemble_using_last_weights_says_so(tmp_path: Path) -> None:
    with TrialStore(str(tmp_path / "t.db")) as store:
        a = run_training(QUICK, store=store).trial_id
        b = run_training(QUICK.replace(**{"train.seed": 1}), store=store).trial_id
        best = store.get_trial(b).checkpoint_best
        assert best and store.get_trial(b).checkpoint_last
        Path(best).unlink()
        result = run_ensemble(EnsembleSettings(method="soft-vote", trials=f"{a}, {b}"), store=store)
        stored = store.get_trial(result.trial_id)
    assert result.status == "completed", result.message
    note = f"trial {b}: its best epoch's weights (best.pt) are missing, so its last epoch's (last.pt) are used"
    assert note in result.message and note in stored.message
    assert f"trial {a}:" not in result.message
