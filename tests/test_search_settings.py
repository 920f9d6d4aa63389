"""The search's own settings ([search_run]) and the search file: run config + [search] + [search_run]."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trainers.spec.config import RunConfig, load_config, save_config
from trainers.spec.errors import ConfigError
from trainers.spec.search_settings import (
    SearchSettings,
    check_for_sampler,
    load_search_file,
    save_search_file,
    search_to_toml,
    setting_specs,
)
from trainers.spec.search_space import SearchSpace

BASE = RunConfig().replace(**{"optim.name": "sgd", "schedule.name": "one_cycle", "model.dropout": 0.2})
SPACE = SearchSpace.from_dict(
    {
        "optim.name": "choice:adam,sgd",
        "lr": "log:1e-5:1e-1",
        "momentum": "float:0.5:0.99",
        "max_lr": "log:1e-3:1",
        "batch_size": "choice:32,64,128,256",
        "hidden_layers": "int:1:4",
        "model.dropout": "float:0:0.5:0.1",
    },
    BASE,
)


def test_defaults_are_the_interfaces() -> None:
    s = SearchSettings()
    assert s.to_dict() == {
        "sampler": "tpe",
        "pruner": "median",
        "trials": 20,
        "timeout_s": 0.0,
        "epochs": 0,
        "workers": 1,
        "seed": 0,
        "lr_finder_seed": True,
        "monitor": "val_acc",
        "min_epochs_before_pruning": 2,
        "vectorise": 0,
    }
    assert [spec.key for spec in setting_specs()][0] == "search_run.sampler"
    assert {spec.section for spec in setting_specs()} == {"search_run"}


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"trials": 0}, "search_run.trials"),  # no limit needs a time limit
        ({"trials": 100_001}, "search_run.trials"),
        ({"workers": 0}, "search_run.workers"),
        ({"workers": 65}, "search_run.workers"),
        ({"sampler": "bayes"}, "search_run.sampler"),
        ({"pruner": "asha"}, "search_run.pruner"),
        ({"monitor": "test_acc"}, "search_run.monitor"),
        ({"timeout_s": -1}, "search_run.timeout_s"),
        ({"lr_finder_seed": "perhaps"}, "search_run.lr_finder_seed"),
        ({"bogus": 1}, "search_run.bogus"),
    ],
)
def test_bad_settings_name_the_field(changes: dict, named: str) -> None:
    with pytest.raises(ConfigError) as err:
        SearchSettings().replace(**changes)
    assert err.value.field == named


def test_no_trial_limit_with_a_time_limit_and_text_values() -> None:
    s = SearchSettings().replace(trials="0", timeout_s="3600", lr_finder_seed="false", sampler="random")
    assert (s.trials, s.timeout_s, s.lr_finder_seed, s.sampler) == (0, 3600.0, False, "random")


def test_a_grid_needs_choices_and_stepped_ranges_only() -> None:
    grid = SearchSettings().replace(sampler="grid")
    with pytest.raises(ConfigError) as err:
        check_for_sampler(SPACE, grid)
    assert err.value.field == "search_run.sampler"
    assert "search.optim.lr" in str(err.value)
    gridded = SearchSpace.from_dict(
        {"batch_size": "choice:32,64", "dropout": "float:0:0.5:0.1", "hidden_layers": "int:1:4"}, BASE
    )
    check_for_sampler(gridded, grid)
    for sampler in ("tpe", "random", "cmaes", "gp"):
        check_for_sampler(SPACE, SearchSettings().replace(sampler=sampler))


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_search_file_round_trip(tmp_path: Path, suffix: str) -> None:
    settings = SearchSettings().replace(sampler="random", pruner="hyperband", trials=30, workers=2, seed=7, epochs=12)
    path = save_search_file(BASE, SPACE, settings, tmp_path / f"search{suffix}")
    assert load_search_file(path) == (BASE, SPACE, settings)
    assert load_config(path) == BASE  # `tunelab train` reads the same file, skipping [search] and [search_run]


def test_search_to_toml_is_the_toml_file(tmp_path: Path) -> None:
    text = search_to_toml(BASE, SPACE, SearchSettings())
    assert '[search]\n"model.hidden_layers" = "int:1:4:1"\n' in text
    assert "[search_run]" in text
    path = tmp_path / "s.toml"
    path.write_text(text)
    assert load_search_file(path) == (BASE, SPACE, SearchSettings())


def test_a_file_without_search_sections_gives_an_empty_space(tmp_path: Path) -> None:
    path = save_config(BASE, tmp_path / "plain.toml")
    assert load_search_file(path) == (BASE, SearchSpace(), SearchSettings())


def test_a_hand_written_file_with_short_and_nested_keys(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        '[optim]\nname = "sgd"\n\n[search]\nlr = "log:1e-4:1e-1"\nbatch_size = [32, 64]\n'
        'optim.momentum = "float:0.8:0.95"\n\n[search_run]\ntrials = 5\n'
    )
    cfg, space, settings = load_search_file(path)
    assert cfg.optim.name == "sgd"
    assert space.to_dict() == {
        "optim.lr": "log:0.0001:0.1",
        "optim.momentum": "float:0.8:0.95",
        "train.batch_size": "choice:32,64",
    }
    assert settings.trials == 5


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ('[search]\nlr = "log:0:1"\n', "search.optim.lr"),
        ('[search]\nmomentum = "float:0.5:0.9"\n', "search.optim.momentum"),  # adam never reads it
        ("search = 3\n", "search"),
        ("[search_run]\ntrials = 0\n", "search_run.trials"),
        ("[search_run]\nbogus = 1\n", "search_run.bogus"),
        ("search_run = [1]\n", "search_run"),
        ('[search]\nlr = "log:1e-5:0.1"\n[search_run]\nsampler = "grid"\n', "search_run.sampler"),
        ("[train]\nepochs = 0\n", "train.epochs"),
        ("[bogus]\nx = 1\n", "bogus"),
        ("[search\n", "config file"),
    ],
)
def test_errors_in_a_search_file_name_the_field_and_the_file(tmp_path: Path, content: str, named: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(content)
    with pytest.raises(ConfigError) as err:
        load_search_file(path)
    assert err.value.field == named
    assert str(path) in str(err.value)


def test_a_json_file_that_is_not_a_table(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text(json.dumps([1, 2]))
    with pytest.raises(ConfigError) as err:
        load_search_file(path)
    assert err.value.field == "config" and str(path) in str(err.value)
