"""After a search: parameter importance from the study beside the store, the best trial's config, the top completed
trials by the search's monitor, and ensemble settings naming them, on real journals and a real tiny search."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

import trainers.search.importance as importance_module
from trainers.api import (
    EnsembleSettings,
    TrialStore,
    best_config,
    ensemble_settings,
    param_importance,
    run_ensemble,
    run_search,
    top_trials,
)
from trainers.search.after import ranked_complete
from trainers.search.storage import open_storage
from trainers.spec.config import RunConfig
from trainers.spec.errors import ConfigError, StoreError
from trainers.spec.search_settings import SearchSettings
from trainers.spec.search_space import SearchSpace

SPACE = {"optim.lr": "log:1e-05:0.1", "model.dropout": "float:0:0.5"}


def fake_study(path: Path, search_id: int, trials: int, monitor: str = "val_acc") -> optuna.Study:
    """A study as a search leaves it in its journal (its search id, space and settings in the user attributes),
    told values that depend strongly on the learning rate and barely on dropout."""
    study = optuna.create_study(
        storage=open_storage(str(path)),
        study_name=f"search-{search_id}",
        direction="minimize" if monitor == "val_loss" else "maximize",
        sampler=optuna.samplers.RandomSampler(seed=0),
    )
    study.set_user_attr("search_id", search_id)
    study.set_user_attr("space", SPACE)
    study.set_user_attr("settings", {"monitor": monitor})
    for _ in range(trials):
        t = study.ask()
        lr = t.suggest_float("optim.lr", 1e-5, 1e-1, log=True)
        dropout = t.suggest_float("model.dropout", 0.0, 0.5)
        study.tell(t, 1.0 - (math.log10(lr) + 3) ** 2 / 10 - 0.01 * dropout)
    return study


def test_ped_anova_names_the_searched_parameters_and_its_shares_sum_to_one(tmp_path: Path) -> None:
    journal = tmp_path / "runs.optuna.journal"
    fake_study(journal, 7, 40)
    found = param_importance(str(journal), 7)
    assert set(found) == set(SPACE)
    assert sum(found.values()) == pytest.approx(1.0) and all(v >= 0 for v in found.values())
    assert found["optim.lr"] > found["model.dropout"]  # the value follows the learning rate
    assert list(found) == sorted(found, key=lambda k: -found[k])  # largest first
    assert found.method == "ped_anova" and found.complete == 40 and found.reason == ""


def test_the_newest_study_of_the_search_is_read_when_a_journal_holds_an_older_one(tmp_path: Path) -> None:
    journal = tmp_path / "runs.optuna.journal"
    fake_study(journal, 3, 1)  # a kept journal's study of an earlier store's search 3
    newer = optuna.create_study(storage=open_storage(str(journal)), study_name="search-3-2", direction="maximize")
    newer.set_user_attr("search_id", 3)
    for value in (0.1, 0.2, 0.3):
        t = newer.ask()
        t.suggest_float("optim.lr", 1e-5, 1e-1, log=True)
        newer.tell(t, value)
    assert param_importance(str(journal), 3).complete == 3


def test_too_few_completed_trials_give_no_importance_and_say_why(tmp_path: Path) -> None:
    journal = tmp_path / "runs.optuna.journal"
    study = fake_study(journal, 5, 1)
    pruned = study.ask()
    pruned.suggest_float("optim.lr", 1e-5, 1e-1, log=True)
    pruned.report(0.5, 1)
    study.tell(pruned, state=TrialState.PRUNED)
    found = param_importance(str(journal), 5)
    assert dict(found) == {} and found.complete == 1
    assert "at least 2 completed trials (1 so far)" in found.reason


def test_trials_that_all_scored_alike_give_zero_importance_not_even_shares(tmp_path: Path) -> None:
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=1))
    study.optimize(lambda t: 0.5 + 0 * t.suggest_float("optim.lr", 1e-5, 1e-1, log=True), n_trials=12)
    found = importance_module.study_importance(study)
    assert dict(found) == {"optim.lr": 0.0} and "scored alike" in found.reason


def test_fanova_without_scikit_learn_is_refused_with_the_install_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "sklearn" else real(name, *a))
    with pytest.raises(ConfigError, match=r"importance\.method.*tunelab\[fanova\]"):
        param_importance(str(tmp_path / "runs.optuna.journal"), 1, method="fanova")
    with pytest.raises(ConfigError, match=r"importance\.method.*ped_anova, fanova"):
        param_importance(str(tmp_path / "runs.optuna.journal"), 1, method="anova")


@pytest.mark.skipif(importlib.util.find_spec("sklearn") is None, reason="fANOVA needs scikit-learn ([fanova])")
def test_fanova_values_are_non_negative_shares(tmp_path: Path) -> None:
    journal = tmp_path / "runs.optuna.journal"
    fake_study(journal, 2, 30)
    found = param_importance(str(journal), 2, method="fanova")
    assert set(found) == set(SPACE) and all(v >= 0 for v in found.values())


def test_a_search_missing_from_the_storage_is_named_and_no_journal_is_made(tmp_path: Path) -> None:
    journal = tmp_path / "runs.optuna.journal"
    with pytest.raises(StoreError, match="no Optuna journal"):
        param_importance(str(journal), 1)
    assert not journal.exists()
    fake_study(journal, 1, 2)
    with pytest.raises(StoreError, match="no study of search 9"):
        param_importance(str(journal), 9)


def test_trials_rank_by_the_searchs_monitor_completed_only(tmp_path: Path) -> None:
    study = fake_study(tmp_path / "runs.optuna.journal", 4, 6, monitor="val_loss")
    pruned = study.ask()
    pruned.suggest_float("optim.lr", 1e-5, 1e-1, log=True)
    study.tell(pruned, state=TrialState.PRUNED)
    ranked = ranked_complete(study)
    assert [t.value for t in ranked] == sorted(t.value for t in ranked)  # val_loss: lowest first
    assert len(ranked) == 6 and pruned.number not in [t.number for t in ranked]


# ---- on a real tiny search -----------------------------------------------------------------------------------------

BASE = RunConfig().replace(
    **{
        "data.source": "digits",
        "data.train_fraction": 0.2,
        "train.epochs": 2,
        "train.checkpoints": False,
        "train.threads": 1,
        "model.hidden_units": 64,
    }
)
SETTINGS = SearchSettings().replace(trials=3, lr_finder_seed=False, pruner="none")


def search(db: Path, **changes: Any) -> int:
    cfg = BASE.replace(**changes)
    with TrialStore(str(db)) as store:
        return run_search(cfg, SearchSpace.from_dict(SPACE, cfg), SETTINGS, store=store).search_id


@pytest.mark.slow
def test_best_config_and_top_trials_of_a_real_search(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    search_id = search(db)
    with TrialStore(str(db)) as store:
        trials = [t for t in store.list_trials(kind="train") if t.extra.get("search_id") == search_id]
        by_acc = sorted(trials, key=lambda t: (-t.best_val_acc, t.extra["optuna_trial"]))
        top = top_trials(store, search_id, 2)
        assert top == [t.id for t in by_acc[:2]]
        assert top_trials(store, search_id, 10) == [t.id for t in by_acc]
        best = best_config(store, search_id)
        assert best.to_dict() == RunConfig.from_dict(by_acc[0].config).to_dict()
        assert best.optim.lr == pytest.approx(by_acc[0].lr)
        assert top_trials(store, search_id, 3, with_weights=True) == []  # checkpoints off: nothing to ensemble
        with pytest.raises(ConfigError, match=r"ensemble\.trials.*saved weights"):
            ensemble_settings(store, search_id, 3)
        assert set(param_importance(store, search_id)) == set(SPACE)
        assert set(param_importance(str(db), search_id)) == set(SPACE)  # the store's path opens it too
        with pytest.raises(ConfigError, match="k = 0"):
            top_trials(store, search_id, 0)
        store.delete_trial(by_acc[0].id)  # deleted from History: the next best takes its place
        assert top_trials(store, search_id, 1) == [by_acc[1].id]
        assert best_config(store, search_id).to_dict() == RunConfig.from_dict(by_acc[1].config).to_dict()


@pytest.mark.slow
def test_an_ensemble_of_the_top_trials_builds_from_the_named_trials(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    search_id = search(db, **{"train.checkpoints": True})
    with TrialStore(str(db)) as store:
        settings = ensemble_settings(store, search_id, 2, method="soft-vote")
        top = top_trials(store, search_id, 2, with_weights=True)
        assert isinstance(settings, EnsembleSettings) and settings.trials == f"{top[0]}, {top[1]}"
        result = run_ensemble(settings, store=store)
    assert result.status == "completed" and sorted(m.trial_id for m in result.members) == sorted(top)
    with TrialStore(str(db)) as store, pytest.raises(StoreError, match="not a search"):
        best_config(store, top[0])
