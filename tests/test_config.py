"""Run config: validation names the field, files round-trip, random bad input only ever gives ConfigError."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trainers.spec.applicability import applies
from trainers.spec.config import (
    OPTIMIZER_PARAMS,
    SECTIONS,
    ModelConfig,
    OptimConfig,
    RunConfig,
    coerce,
    config_from_values,
    config_values,
    field_specs,
    load_config,
    save_config,
)
from trainers.spec.errors import ConfigError
from trainers.spec.rates import learning_rate_fields, recommended_rate, with_learning_rate


@pytest.mark.parametrize(
    "key, value, fragment",
    [
        ("optim.lr", 0.0, "(0, 100]"),
        ("optim.lr", -1e-3, "(0, 100]"),
        ("train.batch_size", 0, "[1, 1e+06]"),
        ("model.dropout", 1.0, "[0, 1)"),
        ("model.dropout", -0.1, "[0, 1)"),
        ("optim.name", "adamax", "sgd, adam, adamw, rmsprop, adagrad"),
        ("schedule.name", "warm", "one_cycle"),
        ("train.device", "tpu", "auto, cpu, cuda, mps"),
        ("train.epochs", 2.5, "an integer"),
        ("optim.lr", float("nan"), "a number"),
    ],
)
def test_bad_value_names_field_value_and_allowed(key: str, value: object, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        RunConfig().replace(**{key: value})
    err = info.value
    assert err.field == key
    assert fragment in err.allowed
    assert key in str(err) and repr(value) in str(err)


def test_missing_data_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        RunConfig().replace(**{"data.source": "csv", "data.path": str(tmp_path / "nope.csv")})
    assert info.value.field == "data.path"


def test_bool_is_not_an_int_and_text_is_not_a_number() -> None:
    with pytest.raises(ConfigError, match="train.batch_size"):
        RunConfig.from_dict({"train": {"batch_size": True}})
    with pytest.raises(ConfigError, match="optim.lr"):
        RunConfig.from_dict({"optim": {"lr": "fast"}})


def test_unknown_section_and_key_are_rejected() -> None:
    with pytest.raises(ConfigError, match="optimiser"):
        RunConfig.from_dict({"optimiser": {"lr": 0.1}})
    with pytest.raises(ConfigError, match="optim.learning_rate"):
        RunConfig.from_dict({"optim": {"learning_rate": 0.1}})


def test_cross_field_rules() -> None:
    with pytest.raises(ConfigError, match="optim.nesterov"):
        RunConfig().replace(**{"optim.name": "sgd", "optim.nesterov": True, "optim.momentum": 0.0})
    with pytest.raises(ConfigError, match="data.test_split"):
        RunConfig().replace(**{"data.val_split": 0.5, "data.test_split": 0.45})
    with pytest.raises(ConfigError, match="schedule.warmup_epochs"):
        RunConfig().replace(**{"train.epochs": 3, "schedule.warmup_epochs": 3.0})
    with pytest.raises(ConfigError, match="model.kernel_size"):
        RunConfig().replace(**{"model.kernel_size": 4})


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_save_load_round_trip(tmp_path: Path, suffix: str) -> None:
    cfg = RunConfig().replace(
        **{
            "optim.name": "sgd",
            "optim.lr": 0.05,
            "schedule.name": "one_cycle",
            "train.batch_size": 32,
            "model.dropout": 0.25,
            "early_stop.enabled": True,
        }
    )
    path = save_config(cfg, tmp_path / f"run{suffix}")
    assert load_config(path) == cfg


def test_wrong_type_in_loaded_file_names_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[train]\nbatch_size = "big"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.field == "train.batch_size"
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ConfigError, match="broken.json"):
        load_config(broken)
    with pytest.raises(ConfigError, match="config file"):
        load_config(tmp_path / "absent.toml")


def test_coerce_text_from_flags_and_forms() -> None:
    assert coerce("optim.lr", "3e-4") == pytest.approx(3e-4)
    assert coerce("train.batch_size", "128") == 128
    assert coerce("early_stop.enabled", "yes") is True
    with pytest.raises(ConfigError, match="train.batch_size"):
        coerce("train.batch_size", "12.5")


def test_every_optimizer_param_is_a_field() -> None:
    names = {s.name for s in field_specs() if s.section == "optim"}
    for params in OPTIMIZER_PARAMS.values():
        assert set(params) <= names


# ---- property: random input never escapes as anything but ConfigError -----------------------
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=2),
)
_known_keys = st.sampled_from([s.key for s in field_specs()])


@st.composite
def _raw_configs(draw: st.DrawFn) -> dict:
    raw: dict = {}
    for key in draw(st.lists(_known_keys, max_size=6)):
        section, name = key.split(".")
        raw.setdefault(section, {})[name] = draw(_scalars)
    if draw(st.booleans()):
        raw[draw(st.sampled_from([*SECTIONS, "bogus"]))] = draw(
            st.one_of(_scalars, st.dictionaries(st.text(max_size=8), _scalars, max_size=3))
        )
    return raw


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_raw_configs())
def test_random_configs_give_a_valid_config_or_a_config_error(raw: dict) -> None:
    try:
        cfg = RunConfig.from_dict(raw)
    except ConfigError as err:
        assert err.field and err.allowed
        return
    back = RunConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    # a saved config keeps every field that applies; the others are saved as their defaults
    values, back_values = config_values(cfg), config_values(back)
    assert {k: v for k, v in back_values.items() if applies(k, values)} == {
        k: v for k, v in values.items() if applies(k, values)
    }
    assert back.to_dict() == cfg.to_dict()


def test_undecodable_file_and_field_errors_name_the_file(tmp_path: Path) -> None:
    binary = tmp_path / "e.toml"
    binary.write_bytes(b"\xff\xfe\x00[train]")
    with pytest.raises(ConfigError, match="e.toml"):
        load_config(binary)
    bad = tmp_path / "bad_lr.toml"
    bad.write_text("[optim]\nlr = -2.0\n")
    with pytest.raises(ConfigError, match="bad_lr.toml") as info:
        load_config(bad)
    assert info.value.field == "optim.lr"


def test_batch_norm_needs_two_samples_and_one_cycle_has_its_own_warmup() -> None:
    with pytest.raises(ConfigError, match="train.batch_size"):
        RunConfig().replace(**{"train.batch_size": 1, "model.batch_norm": True})
    with pytest.raises(ConfigError, match="train.batch_size"):
        RunConfig().replace(**{"train.batch_size": 1, "model.family": "resnet18"})
    assert RunConfig().replace(**{"train.batch_size": 1}).train.batch_size == 1  # plain MLP is fine
    with pytest.raises(ConfigError, match="schedule.warmup_epochs"):
        RunConfig().replace(**{"schedule.name": "one_cycle", "schedule.warmup_epochs": 1.0})


def test_form_tables_name_real_fields() -> None:
    from trainers.spec.config import MODEL_FAMILIES, MODEL_PARAMS, SCHEDULE_PARAMS, SCHEDULES

    fields = {s.key for s in field_specs()}
    assert set(MODEL_PARAMS) == set(MODEL_FAMILIES) and set(SCHEDULE_PARAMS) == set(SCHEDULES)
    assert all(f"model.{name}" in fields for names in MODEL_PARAMS.values() for name in names)
    assert all(f"schedule.{name}" in fields for names in SCHEDULE_PARAMS.values() for name in names)


# ---- valid by construction ------------------------------------------------------------------
def test_a_config_is_frozen_and_valid_by_construction() -> None:
    cfg = RunConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.optim.lr = 0.5  # type: ignore[misc]
    with pytest.raises(ConfigError, match="optim.lr"):
        OptimConfig(lr=-1.0)
    with pytest.raises(ConfigError, match="model.kernel_size"):
        dataclasses.replace(cfg, model=ModelConfig(family="cnn", kernel_size=4))
    with pytest.raises(ConfigError, match="schedule.warmup_epochs"):  # a rule across sections
        dataclasses.replace(
            cfg,
            train=dataclasses.replace(cfg.train, epochs=1),
            schedule=dataclasses.replace(cfg.schedule, warmup_epochs=1.0),
        )
    assert type(OptimConfig(lr=1).lr) is float
    assert type(RunConfig().replace(**{"train.epochs": 3.0}).train.epochs) is int


def test_config_from_values_checks_text_and_names_every_bad_field(tmp_path: Path) -> None:
    cfg, errors = config_from_values({"optim.lr": "0.02", "train.batch_size": "128"})
    assert errors == {} and cfg == RunConfig().replace(**{"optim.lr": 0.02, "train.batch_size": 128})
    cfg, errors = config_from_values({"optim.lr": "fast", "train.epochs": "2.5", "optim.name": "sgd"})
    assert cfg is None and set(errors) == {"optim.lr", "train.epochs"}
    assert errors["optim.lr"].field == "optim.lr" and "(0, 100]" in errors["optim.lr"].allowed
    cfg, errors = config_from_values({"train.epochs": "5", "schedule.warmup_epochs": "5"})  # a rule
    assert cfg is None and set(errors) == {"schedule.warmup_epochs"}
    cfg, errors = config_from_values({"model.kernel_size": "4", "data.source": "csv"})  # two sections at once
    assert cfg is None and set(errors) == {"model.kernel_size", "data.path"}
    cfg, errors = config_from_values({"optim.lr": "0.5"}, checked={"train.epochs": 7})
    assert cfg is not None and (cfg.optim.lr, cfg.train.epochs) == (0.5, 7)
    assert set(config_from_values({"optim.learning_rate": 1})[1]) == {"optim.learning_rate"}


def test_with_learning_rate_sets_the_one_cycle_peak_too() -> None:
    assert learning_rate_fields("cosine") == ("optim.lr",)
    plain = with_learning_rate(RunConfig(), 0.03)
    assert plain.optim.lr == 0.03 and plain.schedule.max_lr == 0.0
    cycle = with_learning_rate(RunConfig().replace(**{"schedule.name": "one_cycle", "schedule.max_lr": 0.5}), 0.03)
    assert cycle.optim.lr == cycle.schedule.max_lr == 0.03
    with pytest.raises(ConfigError, match="optim.lr"):
        with_learning_rate(RunConfig(), 500.0)


def test_recommended_rate_is_the_band_middle_else_the_valley() -> None:
    class Result:  # the fields of a LrFinderResult the rule reads
        def __init__(self, agreed, valley):
            self.agreed, self.suggestions = agreed, {"steepest": 1e-3, "valley": valley, "min_div_10": None}

    assert recommended_rate(Result((1e-3, 4e-3), 3e-3)) == pytest.approx(2e-3)
    assert recommended_rate(Result(None, 3e-3)) == 3e-3
    assert recommended_rate(Result(None, None)) is None  # the steepest descent alone is not recommended
