"""The search space: text forms, validation naming search.<field>, the defaults per field, and sampling that follows
the config's own applicability tables."""

from __future__ import annotations

import math
import random
import subprocess
import sys
from pathlib import Path
from typing import Any, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trainers.spec.config import RunConfig, config_values, field_specs
from trainers.spec.errors import ConfigError
from trainers.spec.search_space import (
    ParamSpec,
    SearchSpace,
    default_param,
    sample_config,
    searchable_fields,
)

ROOT = Path(__file__).resolve().parents[1]
BASE = RunConfig()
ORDER = [s.key for s in field_specs()]


class FakeTrial:
    """A seeded stand-in for an Optuna trial that records what it was asked; `forced` answers categorical
    questions by field."""

    def __init__(self, seed: int = 0, forced: dict[str, Any] | None = None) -> None:
        self.rng = random.Random(seed)
        self.forced = forced or {}
        self.calls: list[str] = []

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float:
        self.calls.append(name)
        if log:
            return min(high, max(low, math.exp(self.rng.uniform(math.log(low), math.log(high)))))
        if step:
            return low + step * self.rng.randint(0, int((high - low) / step + 1e-9))
        return self.rng.uniform(low, high)

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int:
        self.calls.append(name)
        return self.rng.randrange(low, high + 1, step)

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        self.calls.append(name)
        return self.forced.get(name, self.rng.choice(list(choices)))


def space(base: RunConfig = BASE, **entries: str) -> SearchSpace:
    return SearchSpace.from_dict({k.replace("__", "."): v for k, v in entries.items()}, base)


# ---- text forms ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("optim.lr", "log:1e-05:0.1"),
        ("model.dropout", "float:0:0.5"),
        ("model.dropout", "float:0:0.5:0.1"),
        ("model.hidden_layers", "int:1:4:1"),
        ("model.kernel_size", "int:3:7:2"),
        ("train.batch_size", "logint:16:512"),
        ("schedule.warmup_epochs", "int:0:3:1"),  # an int range on a float field
        ("train.batch_size", "choice:32,64,128"),
        ("optim.name", "choice:adam,adamw,sgd"),
        ("model.batch_norm", "choice:false,true"),
        ("optim.lr", "choice:0.001,0.01,1e-05"),
        ("model.dropout", "fixed"),
    ],
)
def test_text_and_parse_are_inverse(field: str, text: str) -> None:
    p = ParamSpec.parse(field, text)
    assert p.field == field
    assert p.text() == text
    assert ParamSpec.parse(field, p.text()) == p


@pytest.mark.parametrize(
    ("field", "given", "normal"),
    [
        ("lr", "log:1e-5:1e-1", "log:1e-05:0.1"),
        ("hidden_layers", "int:1:4", "int:1:4:1"),
        ("optim.lr", " LOG : 0.0001 : 0.1 ", "log:0.0001:0.1"),
        ("batch_size", "choice: 32 , 64", "choice:32,64"),
        ("batch_norm", "choice:yes,off", "choice:true,false"),
    ],
)
def test_other_spellings_read_to_the_normal_form(field: str, given: str, normal: str) -> None:
    assert ParamSpec.parse(field, given).text() == normal


def test_values_are_held_in_the_fields_type() -> None:
    assert ParamSpec.parse("train.batch_size", "choice:32,64").choices == (32, 64)
    assert ParamSpec.parse("model.batch_norm", "choice:false,true").choices == (False, True)
    assert ParamSpec.parse("optim.lr", "choice:1,0.1").choices == (1.0, 0.1)
    assert ParamSpec.parse("model.hidden_layers", "int:1:4").step == 1
    assert ParamSpec.parse("optim.lr", "log:1e-5:1").step is None


# ---- validation ---------------------------------------------------------------------------
INVALID = [
    ("bogus", "float:0:1", "search.bogus"),
    ("optim.nonesuch", "float:0:1", "search.optim.nonesuch"),
    ("name", "choice:adam", "search.name"),  # optim.name or schedule.name
    ("data.path", "choice:a,b", "search.data.path"),
    ("data.source", "choice:digits,csv", "search.data.source"),
    ("train.seed", "int:0:9", "search.train.seed"),
    ("train.device", "choice:cpu", "search.train.device"),
    ("train.threads", "int:1:4", "search.train.threads"),
    ("train.checkpoints", "choice:true", "search.train.checkpoints"),
    ("optim.lr", "float:0.1:0.01", "search.optim.lr"),  # low >= high
    ("optim.lr", "float:0.1:0.1", "search.optim.lr"),
    ("optim.lr", "log:0:0.1", "search.optim.lr"),  # log with low <= 0
    ("optim.weight_decay", "log:-1:0.1", "search.optim.weight_decay"),
    ("train.batch_size", "choice:", "search.train.batch_size"),  # empty choices
    ("train.batch_size", "choice:32,32", "search.train.batch_size"),
    ("train.batch_size", "choice:32,abc", "search.train.batch_size"),
    ("optim.name", "choice:adam,lion", "search.optim.name"),  # a choice outside the field's choices
    ("model.dropout", "float:0:1", "search.model.dropout"),  # dropout < 1
    ("optim.lr", "log:1e-5:1000", "search.optim.lr"),  # lr <= 100
    ("train.batch_size", "int:0:64", "search.train.batch_size"),
    ("model.hidden_layers", "float:1:4", "search.model.hidden_layers"),  # float range on an int field
    ("model.hidden_layers", "int:1.5:4", "search.model.hidden_layers"),
    ("model.hidden_layers", "int:1:4:0.5", "search.model.hidden_layers"),
    ("optim.lr", "log:1e-5:0.1:0.01", "search.optim.lr"),  # a step on a log range
    ("model.dropout", "float:0:0.5:0", "search.model.dropout"),
    ("model.dropout", "float:0:0.5:0.6", "search.model.dropout"),
    ("optim.name", "float:0:1", "search.optim.name"),  # a range on a field of choices
    ("model.batch_norm", "int:0:1", "search.model.batch_norm"),
    ("optim.lr", "float:nan:0.1", "search.optim.lr"),
    ("optim.lr", "float:0:inf", "search.optim.lr"),
    ("optim.lr", "uniform:0:1", "search.optim.lr"),
    ("optim.lr", "float:a:b", "search.optim.lr"),
    ("optim.lr", "float:0.1", "search.optim.lr"),
    ("optim.lr", "fixed:0.1", "search.optim.lr"),
    ("optim.momentum", "float:0.5:0.9", "search.optim.momentum"),  # never read under the base's adam
    ("schedule.max_lr", "log:1e-3:1", "search.schedule.max_lr"),  # only for one_cycle
    ("train.epochs", "int:1:30", "search.train.epochs"),  # fine alone; see below for a base that rejects it
]


@pytest.mark.parametrize(("field", "text", "named"), INVALID)
def test_an_invalid_entry_is_one_config_error_naming_the_field(field: str, text: str, named: str) -> None:
    if field == "train.epochs":  # a 10-epoch warmup needs more than 1 epoch: the base config rejects epochs = 1
        base = BASE.replace(**{"schedule.warmup_epochs": 10.0})
    else:
        base = BASE
    with pytest.raises(ConfigError) as err:
        SearchSpace.from_dict({field: text}, base)
    assert err.value.field == named
    assert err.value.allowed


def test_other_value_kinds_and_repeated_fields_are_errors() -> None:
    for raw, named in [
        ({"optim.lr": 0.1}, "search.optim.lr"),
        ({"optim.lr": None}, "search.optim.lr"),
        ({"lr": "log:1e-5:0.1", "optim.lr": "log:1e-4:0.1"}, "search.optim.lr"),
        ({"optim": {"lr": {"low": 1}}}, "search.optim.lr"),
    ]:
        with pytest.raises(ConfigError) as err:
            SearchSpace.from_dict(raw, BASE)
        assert err.value.field == named
    with pytest.raises(ConfigError) as err:
        SearchSpace.from_dict(["lr"], BASE)  # type: ignore[arg-type]
    assert err.value.field == "search"


def test_the_base_config_decides_which_values_are_possible() -> None:
    cnn = BASE.replace(**{"model.family": "cnn"})
    with pytest.raises(ConfigError) as err:
        space(cnn, kernel_size="int:1:11:1")  # even kernel sizes are not allowed
    assert err.value.field == "search.model.kernel_size"
    assert space(cnn, kernel_size="int:1:11:2").param("model.kernel_size") is not None
    nesterov = BASE.replace(**{"optim.name": "sgd", "optim.nesterov": True})
    with pytest.raises(ConfigError) as err:
        space(nesterov, momentum="float:0:0.9")  # Nesterov needs momentum > 0
    assert err.value.field == "search.optim.momentum"
    assert space(nesterov, momentum="float:0.5:0.9").fields == ("optim.momentum",)


def test_a_conditional_field_is_allowed_once_a_choice_reads_it() -> None:
    s = space(optim__name="choice:adam,sgd", optim__momentum="float:0.5:0.99")
    assert s.fields == ("optim.name", "optim.momentum")
    s = space(schedule__name="choice:cosine,one_cycle", max_lr="log:1e-3:1")
    assert s.fields == ("schedule.name", "schedule.max_lr")


def test_keys_may_be_short_dotted_or_nested_and_fixed_entries_are_dropped() -> None:
    raw = {
        "batch_size": [32, 64],
        "optim": {"lr": "log:1e-5:0.1"},
        "model.dropout": "fixed",
        "hidden_layers": "int:1:3",
    }
    s = SearchSpace.from_dict(raw, BASE)
    assert s.fields == ("model.hidden_layers", "optim.lr", "train.batch_size")  # field-table order
    assert s.to_dict() == {
        "model.hidden_layers": "int:1:3:1",
        "optim.lr": "log:1e-05:0.1",
        "train.batch_size": "choice:32,64",
    }
    assert SearchSpace.from_dict(s.to_dict(), BASE) == s
    assert SearchSpace.of_params(list(reversed(s.params)), BASE) == s


def test_grid_values_of_choices_and_stepped_ranges() -> None:
    assert ParamSpec.parse("train.batch_size", "choice:32,64").grid_values() == (32, 64)
    assert ParamSpec.parse("model.kernel_size", "int:3:7:2").grid_values() == (3, 5, 7)
    assert ParamSpec.parse("model.dropout", "float:0:0.5:0.1").grid_values() == (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
    assert ParamSpec.parse("model.dropout", "float:0:0.5").grid_values() is None
    assert ParamSpec.parse("train.batch_size", "logint:16:512").grid_values() is None


# ---- defaults -----------------------------------------------------------------------------
ISSUE_DEFAULTS = {
    "optim.lr": "log:1e-05:0.1",
    "train.batch_size": "choice:32,64,128,256",
    "model.dropout": "float:0:0.5",
    "optim.weight_decay": "log:1e-06:0.01",
    "optim.name": "choice:adam,adamw,sgd",
    "model.hidden_layers": "int:1:4:1",
    "model.hidden_units": "choice:64,128,256,512,1024",
    "model.cnn_channels": "choice:16,32,64",
    "optim.momentum": "float:0.5:0.99",
    "train.label_smoothing": "float:0:0.2",
}


def test_the_issues_defaults_are_offered_and_valid() -> None:
    assert {f: default_param(f).text() for f in ISSUE_DEFAULTS} == ISSUE_DEFAULTS
    assert default_param("train.epochs").mode == "int"
    base = BASE.replace(**{"optim.name": "sgd"})
    s = SearchSpace.from_dict({f: p for f, p in ISSUE_DEFAULTS.items() if f != "model.cnn_channels"}, base)
    assert len(s.params) == len(ISSUE_DEFAULTS) - 1
    cnn = SearchSpace.from_dict(
        {"model.cnn_channels": ISSUE_DEFAULTS["model.cnn_channels"]}, BASE.replace(**{"model.family": "cnn"})
    )
    assert cnn.fields == ("model.cnn_channels",)


BASES = [
    BASE,
    BASE.replace(**{"optim.name": "sgd", "schedule.name": "one_cycle"}),
    BASE.replace(**{"model.family": "cnn", "optim.name": "rmsprop", "schedule.name": "plateau"}),
    BASE.replace(**{"optim.name": "adagrad", "schedule.name": "step", "data.augment_crop_padding": 2}),
    BASE.replace(**{"model.family": "resnet18", "schedule.name": "exponential"}),
]


@pytest.mark.parametrize("base", BASES, ids=lambda b: f"{b.model.family}-{b.optim.name}-{b.schedule.name}")
def test_every_searchable_fields_default_is_valid_for_the_base(base: RunConfig) -> None:
    fields = searchable_fields(base)
    if base.schedule.name == "one_cycle":  # its own rise is the warmup: the config allows only warmup_epochs = 0
        with pytest.raises(ConfigError) as err:
            SearchSpace.from_dict({"schedule.warmup_epochs": default_param("schedule.warmup_epochs").text()}, base)
        assert err.value.field == "search.schedule.warmup_epochs"
        fields.remove("schedule.warmup_epochs")
    s = SearchSpace.from_dict({f: default_param(f).text() for f in fields}, base)
    assert set(s.fields) <= set(fields)
    assert [f for f in fields if default_param(f).mode != "fixed"] == list(s.fields)


def test_searchable_fields_are_those_the_form_shows_that_a_search_may_vary() -> None:
    fields = searchable_fields(BASE)
    assert "optim.lr" in fields and "train.batch_size" in fields and "model.hidden_units" in fields
    for never in (
        "data.path",
        "data.source",
        "data.target_column",
        "data.val_split",
        "data.split_seed",
        "train.device",
        "train.threads",
        "train.seed",
        "train.checkpoints",
        "model.weights_path",
    ):
        assert never not in fields
    assert "optim.momentum" not in fields and "model.cnn_channels" not in fields  # adam, mlp
    assert "optim.momentum" in searchable_fields(BASE.replace(**{"optim.name": "sgd"}))
    offers_sgd = space(optim__name="choice:adam,sgd")
    assert "optim.momentum" in searchable_fields(BASE, offers_sgd)
    assert fields == [k for k in ORDER if k in fields]


# ---- sampling -----------------------------------------------------------------------------
CONDITIONAL = {
    "optim.name": "choice:adam,sgd,rmsprop",
    "optim.lr": "log:1e-05:0.1",
    "optim.momentum": "float:0.5:0.99",
    "schedule.name": "choice:constant,cosine,one_cycle",
    "schedule.max_lr": "log:0.001:1",
    "train.batch_size": "choice:32,64,128,256",
    "model.dropout": "float:0:0.5:0.05",
    "model.hidden_layers": "int:1:4",
}


def test_sampled_configs_are_valid_and_inside_the_space() -> None:
    s = SearchSpace.from_dict(CONDITIONAL, BASE)
    for seed in range(40):
        trial = FakeTrial(seed)
        cfg, sampled = sample_config(s, BASE, trial)
        values = config_values(cfg)
        assert list(sampled) == [f for f in ORDER if f in sampled] == trial.calls  # field-table order
        for field, value in sampled.items():
            p = s.param(field)
            assert p is not None and values[field] == value
            if p.mode == "choice":
                assert value in p.choices
            else:
                assert p.low is not None and p.high is not None and p.low <= value <= p.high
        assert isinstance(sampled["model.hidden_layers"], int) and isinstance(sampled["optim.lr"], float)


def test_momentum_is_sampled_only_when_the_optimizer_reads_it() -> None:
    s = SearchSpace.from_dict(CONDITIONAL, BASE)
    adam = FakeTrial(1, {"optim.name": "adam"})
    cfg, sampled = sample_config(s, BASE, adam)
    assert "optim.momentum" not in sampled and "optim.momentum" not in adam.calls
    assert cfg.optim.momentum == BASE.optim.momentum
    for name in ("sgd", "rmsprop"):
        trial = FakeTrial(1, {"optim.name": name})
        cfg, sampled = sample_config(s, BASE, trial)
        assert "optim.momentum" in trial.calls
        assert cfg.optim.name == name and cfg.optim.momentum == sampled["optim.momentum"]
        assert 0.5 <= cfg.optim.momentum <= 0.99


def test_max_lr_is_sampled_only_for_one_cycle() -> None:
    s = SearchSpace.from_dict(CONDITIONAL, BASE)
    for name in ("constant", "cosine", "one_cycle"):
        trial = FakeTrial(2, {"schedule.name": name})
        cfg, sampled = sample_config(s, BASE, trial)
        assert ("schedule.max_lr" in sampled) == (name == "one_cycle") == ("schedule.max_lr" in trial.calls)
        assert cfg.schedule.name == name


def test_a_combination_the_config_rejects_is_a_config_error() -> None:
    s = space(schedule__name="choice:one_cycle,cosine", schedule__warmup_epochs="float:1:3")
    with pytest.raises(ConfigError) as err:
        sample_config(s, BASE, FakeTrial(0, {"schedule.name": "one_cycle"}))
    assert err.value.field == "schedule.warmup_epochs"
    cfg, _ = sample_config(s, BASE, FakeTrial(0, {"schedule.name": "cosine"}))
    assert 1 <= cfg.schedule.warmup_epochs <= 3


def test_an_empty_space_samples_the_base_config() -> None:
    trial = FakeTrial()
    assert sample_config(SearchSpace(), BASE, trial) == (BASE, {})
    assert trial.calls == []


# ---- random spaces ------------------------------------------------------------------------
_COMMON = [
    "lr",
    "optim.lr",
    "dropout",
    "batch_size",
    "hidden_layers",
    "hidden_units",
    "optim.name",
    "schedule.name",
    "momentum",
    "max_lr",
    "label_smoothing",
    "weight_decay",
    "epochs",
    "warmup_epochs",
    "kernel_size",
]
_KEYS = st.one_of(st.sampled_from(_COMMON), st.sampled_from([*ORDER, "name", "bogus", "optim.bogus", ""]))
_PLAUSIBLE = st.sampled_from([0.0, 1e-5, 1e-3, 0.1, 0.2, 0.5, 0.9, 1.0, 2.0, 3.0, 5.0, 16.0, 64.0, 256.0])
_NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-5, 300).map(float),
    st.sampled_from([0.0, 1e-5, 0.5, 0.99, 1.0, 2.0, 64.0, 1e9]),
)
_WORDS = st.sampled_from(["adam", "sgd", "one_cycle", "cosine", "mlp", "cnn", "true", "false", "32", "0.1", "", "x"])


@st.composite
def _bounds(draw: st.DrawFn) -> list[float]:
    if draw(st.booleans()):  # mostly sensible: two or three plausible numbers, low first
        return sorted(draw(st.lists(_PLAUSIBLE, min_size=2, max_size=2))) + draw(st.lists(_PLAUSIBLE, max_size=1))
    return draw(st.lists(_NUMBERS, min_size=1, max_size=4))


@st.composite
def _entry(draw: st.DrawFn) -> Any:
    kind = draw(st.sampled_from(["float", "log", "int", "logint", "choice", "fixed", "junk", "list", "other"]))
    if kind in ("float", "log", "int", "logint"):
        return ":".join([kind, *(repr(n) if draw(st.booleans()) else f"{n:g}" for n in draw(_bounds()))])
    if kind == "choice":
        return "choice:" + ",".join(draw(st.lists(_WORDS, max_size=5)))
    if kind == "fixed":
        return "fixed"
    if kind == "junk":
        return draw(st.text(max_size=12))
    if kind == "list":
        return draw(st.lists(st.one_of(_WORDS, _NUMBERS, st.booleans(), st.integers(-3, 600)), max_size=4))
    return draw(st.one_of(st.none(), st.integers(), st.dictionaries(_WORDS, _WORDS, max_size=2)))


@st.composite
def _raw_spaces(draw: st.DrawFn) -> dict[str, Any]:
    """Up to four entries, each random or a field's default with a bound possibly moved."""
    raw: dict[str, Any] = {}
    for key in draw(st.lists(_KEYS, max_size=4)):
        try:
            text = default_param(key).text()
        except ConfigError:
            text = None
        if text is None or draw(st.booleans()):
            raw[key] = draw(_entry())
            continue
        parts = text.split(":")
        if len(parts) > 2 and draw(st.booleans()):
            parts[draw(st.integers(1, len(parts) - 1))] = f"{draw(_NUMBERS):g}"
        raw[key] = ":".join(parts)
    return raw


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_raw_spaces(), st.sampled_from(BASES), st.integers(0, 2**16))
def test_random_spaces_give_a_valid_space_or_one_config_error(raw: dict, base: RunConfig, seed: int) -> None:
    try:
        s = SearchSpace.from_dict(raw, base)
    except ConfigError as err:
        assert err.field == "search" or err.field.startswith("search.")
        assert err.allowed
        return
    assert SearchSpace.from_dict(s.to_dict(), base) == s
    assert list(s.fields) == [k for k in ORDER if k in s.fields]
    for p in s.params:
        assert ParamSpec.parse(p.field, p.text()) == p
    try:  # a sampled combination may still break a rule across fields: then a ConfigError, nothing else
        sample_config(s, base, FakeTrial(seed))
    except ConfigError as err:
        assert err.field in ORDER


@pytest.mark.slow
def test_the_search_modules_import_neither_torch_nor_optuna() -> None:
    probe = (
        "import sys, trainers.spec.search_space, trainers.spec.search_settings\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'optuna', 'numpy'}))"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
