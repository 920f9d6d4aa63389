"""How a search runs (sampler, pruner, budget, workers), validated like the run config, and the search file: the run
config's sections plus [search] (the space) and [search_run] (these settings), as TOML or JSON. Torch-free."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from trainers.spec.config import (
    SEARCH_SECTIONS,
    RunConfig,
    _f,
    config_to_toml,
    errors_in_file,
    read_config_file,
)
from trainers.spec.errors import ConfigError
from trainers.spec.search_space import SearchSpace
from trainers.spec.settings_table import SettingsMixin, SettingsTable

SECTION = "search_run"
SAMPLERS = ("tpe", "random", "grid", "cmaes", "gp")
PRUNERS = ("median", "none", "halving", "hyperband")
MONITORS = ("val_acc", "val_loss")


@dataclass(frozen=True)
class SearchSettings(SettingsMixin):
    sampler: str = _f("tpe", "how the next trial's values are chosen", choices=SAMPLERS)
    pruner: str = _f("median", "how unpromising trials are stopped early", choices=PRUNERS)
    trials: int = _f(20, "trials to run (0: no limit, the time limit ends the search)", lo=0, hi=100_000)
    timeout_s: float = _f(0.0, "seconds before no new trial starts (0: no time limit)", lo=0, hi=1e8)
    epochs: int = _f(0, "epochs per trial (0: the base config's train.epochs)", lo=0, hi=100_000)
    workers: int = _f(1, "trials run at once, each in its own process", lo=1, hi=64)
    seed: int = _f(0, "seed of the sampler", lo=0, hi=2**32 - 1)
    lr_finder_seed: bool = _f(True, "centre the lr range on the LR finder's band and try its middle first")
    monitor: str = _f("val_acc", "the validation metric the search optimises", choices=MONITORS)
    min_epochs_before_pruning: int = _f(2, "epochs every trial runs before it may be pruned", lo=0, hi=100_000)
    vectorise: int = _f(
        0, "trials trained together as one model when they differ only in continuous values (0 or 1: off)", lo=0, hi=64
    )


def _rules(s: SearchSettings) -> None:
    if s.trials == 0 and s.timeout_s <= 0:
        raise ConfigError(f"{SECTION}.trials", 0, "at least 1, or 0 (no limit) with a time limit in timeout_s")


_TABLE = SettingsTable(SECTION, SearchSettings, _rules)
TABLE = _TABLE  # the field table, for the form
setting_specs = _TABLE.all_specs  # the fields, for forms and flags
setting_spec = _TABLE.spec
coerce_setting = _TABLE.coerce  # one setting converted and checked, or a ConfigError naming it


def validate_settings(s: SearchSettings) -> SearchSettings:
    """The settings with every value converted and checked, or a ConfigError naming the field."""
    return _TABLE.checked(s)


SearchSettings._table = _TABLE
SearchSettings._validate = staticmethod(validate_settings)


def check_for_sampler(space: SearchSpace, settings: SearchSettings) -> None:
    """A grid visits every combination, so it needs every param to be a choice or a stepped range."""
    if settings.sampler != "grid":
        return
    for p in space.params:
        if p.grid_values() is None:
            raise ConfigError(
                f"{SECTION}.sampler",
                "grid",
                f"a sampler other than grid, or a space of choices and stepped ranges only (search.{p.field} is "
                f"{p.text()})",
            )


def settings_from_dict(raw: Any) -> SearchSettings:
    """The [search_run] section (absent: the defaults), or a ConfigError naming the field."""
    if not isinstance(raw, dict):
        raise ConfigError(SECTION, raw, "a table of settings: " + ", ".join(s.name for s in setting_specs()))
    return SearchSettings.from_dict({str(k): v for k, v in raw.items()})


def load_search_file(path: str | Path) -> tuple[RunConfig, SearchSpace, SearchSettings]:
    """A .toml or .json file with the run config's sections plus [search] and [search_run]; without [search] the
    space is empty (the command line then gives it). Every problem is a ConfigError naming the field and the file."""
    p, raw = read_config_file(path)
    with errors_in_file(p):
        if not isinstance(raw, dict):
            raise ConfigError("config", raw, "a table of sections")
        cfg = RunConfig.from_dict({k: v for k, v in raw.items() if k not in SEARCH_SECTIONS})
        space = SearchSpace.from_dict(raw.get("search", {}), cfg)
        settings = settings_from_dict(raw.get(SECTION, {}))
        check_for_sampler(space, settings)
    return cfg, space, settings


def search_to_dict(cfg: RunConfig, space: SearchSpace, settings: SearchSettings) -> dict[str, Any]:
    return {**cfg.to_dict(), "search": space.to_dict(), SECTION: settings.to_dict()}


def search_to_toml(cfg: RunConfig, space: SearchSpace, settings: SearchSettings) -> str:
    """The search file as TOML text; load_search_file reads it back to equal objects."""
    return config_to_toml(cfg) + "\n" + tomli_w.dumps({"search": space.to_dict(), SECTION: settings.to_dict()})


def save_search_file(cfg: RunConfig, space: SearchSpace, settings: SearchSettings, path: str | Path) -> Path:
    """Write as JSON when the name ends in .json, otherwise TOML."""
    p = Path(path).expanduser()
    json_file = p.suffix.lower() == ".json"
    text = (
        json.dumps(search_to_dict(cfg, space, settings), indent=2)
        if json_file
        else search_to_toml(cfg, space, settings)
    )
    p.write_text(text, encoding="utf-8")
    return p
