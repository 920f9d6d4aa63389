"""The typed run config: one dataclass per section, validated once, saved as TOML or JSON.

Every field carries its allowed range or choices as metadata, so validation, the CLI flags
and the GUI forms are all generated from this one table.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import tomli_w

from trainers.spec.applicability import DATA_PARAMS as DATA_PARAMS
from trainers.spec.applicability import MODEL_PARAMS as MODEL_PARAMS
from trainers.spec.applicability import OPTIMIZER_PARAMS as OPTIMIZER_PARAMS
from trainers.spec.applicability import SCHEDULE_PARAMS as SCHEDULE_PARAMS
from trainers.spec.applicability import TORCHVISION_SOURCES as TORCHVISION_SOURCES
from trainers.spec.applicability import without_inapplicable
from trainers.spec.errors import ConfigError

DATA_SOURCES = (
    "digits",
    "mnist",
    "fashion_mnist",
    "kmnist",
    "cifar10",
    "cifar100",
    "svhn",
    "image_folder",
    "csv",
)
MODEL_FAMILIES = ("mlp", "cnn", "resnet18", "mobilenet_v3_small", "efficientnet_b0")
TORCHVISION_MODELS = ("resnet18", "mobilenet_v3_small", "efficientnet_b0")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad")
SCHEDULES = ("constant", "step", "exponential", "cosine", "one_cycle", "plateau")


class _Section:
    """Base of the config sections: each field converted to its type (2.0 epochs → 2) and checked against its range
    or choices when the section is built, then the section's own rules; a ConfigError names the first bad field."""

    def __post_init__(self) -> None:
        section = _SECTION_NAMES[type(self)]
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            s = _SPECS[f"{section}.{f.name}"]
            value = _check_type(s, getattr(self, f.name))
            _check_range(s, value)
            object.__setattr__(self, f.name, value)  # frozen: only the normalised type is set, once
        rules = _SECTION_RULES.get(section)
        if rules is not None:
            rules(self)


def _f(
    default: Any,
    help: str,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
    choices: tuple[str, ...] | None = None,
) -> Any:
    """A dataclass field with its allowed values as metadata."""
    meta = {"help": help, "lo": lo, "hi": hi, "lo_open": lo_open, "hi_open": hi_open, "choices": choices}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class DataConfig(_Section):
    source: str = _f("digits", "where the data comes from", choices=DATA_SOURCES)
    path: str = _f("", "dataset root (torchvision sets), image folder, or CSV file")
    download: bool = _f(False, "allow torchvision datasets to download into the root")
    target_column: str = _f("", "CSV column holding the class label (empty: the last column)")
    image_size: int = _f(32, "image-folder images are resized to this square size", lo=4, hi=1024)
    train_fraction: float = _f(1.0, "fraction of the training split used for training", lo=0, hi=1, lo_open=True)
    val_split: float = _f(0.15, "fraction held out for validation", lo=0, hi=0.9, lo_open=True, hi_open=True)
    test_split: float = _f(0.15, "fraction held out for testing", lo=0, hi=0.9, hi_open=True)
    split_seed: int = _f(0, "seed of the stratified split", lo=0, hi=2**32 - 1)
    augment_flip: bool = _f(False, "random horizontal flips of training images")
    augment_crop_padding: int = _f(0, "random crops after padding by this many pixels (0: off)", lo=0, hi=64)
    normalize: bool = _f(True, "standardise inputs with training-split statistics")
    in_memory_limit_mb: int = _f(2048, "datasets up to this size are held as tensors", lo=1, hi=1_000_000)
    num_workers: int = _f(2, "DataLoader workers for datasets streamed from disk", lo=0, hi=64)


@dataclass(frozen=True)
class ModelConfig(_Section):
    family: str = _f("mlp", "architecture", choices=MODEL_FAMILIES)
    hidden_layers: int = _f(2, "MLP hidden layers", lo=1, hi=16)
    hidden_units: int = _f(256, "MLP units per hidden layer", lo=1, hi=8192)
    activation: str = _f("relu", "activation", choices=("relu", "gelu", "silu", "tanh", "leaky_relu", "elu"))
    batch_norm: bool = _f(False, "batch normalisation after each layer")
    dropout: float = _f(0.1, "dropout probability", lo=0, hi=1, hi_open=True)
    cnn_blocks: int = _f(2, "CNN conv blocks", lo=1, hi=6)
    cnn_channels: int = _f(32, "CNN channels of the first block (doubling each block)", lo=1, hi=1024)
    kernel_size: int = _f(3, "CNN kernel size (odd)", lo=1, hi=11)
    pooling: str = _f("max", "CNN pooling after each block", choices=("max", "avg", "none"))
    pretrained: bool = _f(False, "start from pretrained weights found on disk")
    weights_path: str = _f("", "pretrained weights file (empty: torch hub cache)")
    freeze_backbone: bool = _f(False, "train only the classifier head")


@dataclass(frozen=True)
class OptimConfig(_Section):
    name: str = _f("adam", "optimizer", choices=OPTIMIZERS)
    lr: float = _f(1e-3, "learning rate", lo=0, hi=100, lo_open=True)
    weight_decay: float = _f(1e-4, "weight decay (never on biases and norm layers)", lo=0, hi=1, hi_open=True)
    momentum: float = _f(0.9, "momentum (SGD, RMSprop)", lo=0, hi=1, hi_open=True)
    nesterov: bool = _f(False, "Nesterov momentum (SGD)")
    beta1: float = _f(0.9, "Adam beta1", lo=0, hi=1, hi_open=True)
    beta2: float = _f(0.999, "Adam beta2", lo=0, hi=1, hi_open=True)
    eps: float = _f(1e-8, "numerical epsilon", lo=0, hi=1, lo_open=True)
    amsgrad: bool = _f(False, "AMSGrad variant (Adam, AdamW)")
    alpha: float = _f(0.99, "RMSprop smoothing constant", lo=0, hi=1, hi_open=True)
    centered: bool = _f(False, "centered RMSprop")
    lr_decay: float = _f(0.0, "Adagrad learning-rate decay", lo=0, hi=1, hi_open=True)


@dataclass(frozen=True)
class ScheduleConfig(_Section):
    name: str = _f("constant", "learning-rate schedule", choices=SCHEDULES)
    warmup_epochs: float = _f(0.0, "linear warmup from 0 over this many epochs", lo=0, hi=1000)
    step_size: int = _f(10, "step: epochs between decays", lo=1, hi=100_000)
    step_gamma: float = _f(0.1, "step: decay factor", lo=0, hi=1, lo_open=True)
    exp_gamma: float = _f(0.95, "exponential: decay factor per epoch", lo=0, hi=1, lo_open=True)
    min_lr: float = _f(0.0, "cosine: final learning rate; plateau: floor", lo=0, hi=100)
    max_lr: float = _f(0.0, "one-cycle: peak learning rate (0: the optimizer's lr)", lo=0, hi=100)
    pct_start: float = _f(0.3, "one-cycle: fraction of steps spent rising", lo=0, hi=1, lo_open=True, hi_open=True)
    div_factor: float = _f(25.0, "one-cycle: peak / initial learning rate", lo=1, hi=1e6)
    final_div_factor: float = _f(1e4, "one-cycle: initial / final learning rate", lo=1, hi=1e9)
    plateau_factor: float = _f(0.1, "plateau: decay factor", lo=0, hi=1, lo_open=True, hi_open=True)
    plateau_patience: int = _f(3, "plateau: epochs without improvement before decaying", lo=0, hi=10_000)


@dataclass(frozen=True)
class TrainConfig(_Section):
    batch_size: int = _f(64, "samples per batch", lo=1, hi=1_000_000)
    epochs: int = _f(20, "epochs", lo=1, hi=100_000)
    l1: float = _f(0.0, "L1 penalty on weights", lo=0, hi=1)
    label_smoothing: float = _f(0.0, "label smoothing", lo=0, hi=1, hi_open=True)
    grad_clip: float = _f(0.0, "clip the gradient norm to this (0: off)", lo=0, hi=1e6)
    device: str = _f("auto", "device", choices=("auto", "cpu", "cuda", "mps"))
    amp: bool = _f(False, "mixed precision (CUDA only)")
    seed: int = _f(0, "seed of initialisation and batch order", lo=0, hi=2**32 - 1)
    threads: int = _f(
        0, "CPU threads for torch (0: automatic, physical cores - 1, at most 8; 1 beside another job)", lo=0, hi=256
    )
    checkpoints: bool = _f(True, "save best and last weights beside the store")


@dataclass(frozen=True)
class EarlyStopConfig(_Section):
    enabled: bool = _f(False, "stop when the monitored metric stops improving")
    monitor: str = _f("val_loss", "metric watched", choices=("val_loss", "val_acc", "train_loss", "train_acc"))
    mode: str = _f("auto", "min, max, or auto (from the metric's name)", choices=("auto", "min", "max"))
    patience: int = _f(5, "epochs without improvement before stopping", lo=0, hi=100_000)
    min_delta: float = _f(0.0, "smallest change counted as improvement", lo=0, hi=1e6)
    restore_best: bool = _f(True, "restore the best weights at the end")


@dataclass(frozen=True)
class RunConfig:
    """The whole run config. Frozen and valid by construction: every section checks its fields and rules when
    built, and the config checks the rules across sections and the files named, so a RunConfig that exists is
    valid. Change one with `replace`, `dataclasses.replace` or `with_learning_rate`."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    early_stop: EarlyStopConfig = field(default_factory=EarlyStopConfig)

    def __post_init__(self) -> None:
        for name, cls in SECTIONS.items():
            if not isinstance(getattr(self, name), cls):
                raise ConfigError(name, getattr(self, name), "a table of fields")
        # each section checked its fields and its own rules when it was built: only what spans sections is left
        _check_across_sections(self)
        _check_files(self)

    # ---- conversion -------------------------------------------------------------------
    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Plain data as saved and stored: fields the chosen source, family, optimizer or schedule do not read hold
        their defaults (trainers/spec/applicability.py), so a leftover value never tells two equal runs apart."""
        return normalised_dict(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, raw: Any) -> RunConfig:
        """Build and validate from plain data; unknown sections/keys and wrong types are errors."""
        if not isinstance(raw, dict):
            raise ConfigError("config", raw, "a table of sections: " + ", ".join(SECTIONS))
        sections: dict[str, Any] = {}
        for name, value in raw.items():
            if name not in SECTIONS:
                raise ConfigError(str(name), value, "a section of: " + ", ".join(SECTIONS))
            if not isinstance(value, dict):
                raise ConfigError(name, value, "a table of fields")
            sections[name] = _build_section(name, SECTIONS[name], value)
        return cls(**sections)

    def replace(self, **dotted: Any) -> RunConfig:
        """A validated copy with fields changed by dotted name: cfg.replace(**{"optim.lr": 0.1})."""
        raw = dataclasses.asdict(self)  # every value as set: a field may apply only after a later change
        for key, value in dotted.items():
            section, _, name = key.partition(".")
            if section not in raw or name not in raw[section]:
                raise ConfigError(key, value, "a known field such as optim.lr")
            raw[section][name] = value
        return RunConfig.from_dict(raw)


SECTIONS: dict[str, type] = {
    "data": DataConfig,
    "model": ModelConfig,
    "optim": OptimConfig,
    "schedule": ScheduleConfig,
    "train": TrainConfig,
    "early_stop": EarlyStopConfig,
}
_SECTION_NAMES: dict[type, str] = {cls: name for name, cls in SECTIONS.items()}


@dataclass(frozen=True)
class FieldSpec:
    """What the CLI and the forms need to know about one field."""

    section: str
    name: str
    type: type
    default: Any
    help: str
    lo: float | None
    hi: float | None
    lo_open: bool
    hi_open: bool
    choices: tuple[str, ...] | None

    @property
    def key(self) -> str:
        return f"{self.section}.{self.name}"

    def allowed(self) -> str:
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.type is bool:
            return "true or false"
        if self.type is str:
            return "text"
        kind = "an integer" if self.type is int else "a number"
        if self.lo is None and self.hi is None:
            return kind
        left = "(" if self.lo_open else "["
        right = ")" if self.hi_open else "]"
        return f"{kind} in {left}{self.lo:g}, {self.hi:g}{right}"


def specs_of(section: str, cls: type) -> list[FieldSpec]:
    """The specs of one dataclass declared with _f fields (a config section, or another settings table)."""
    hints = typing.get_type_hints(cls)
    return [
        FieldSpec(
            section,
            f.name,
            hints[f.name],
            f.default,
            f.metadata["help"],
            f.metadata["lo"],
            f.metadata["hi"],
            f.metadata["lo_open"],
            f.metadata["hi_open"],
            f.metadata["choices"],
        )
        for f in dataclasses.fields(cls)
    ]


def field_specs() -> Iterator[FieldSpec]:
    """Every field of every section, in declaration order."""
    for section, cls in SECTIONS.items():
        yield from specs_of(section, cls)


_SPECS: dict[str, FieldSpec] = {s.key: s for s in field_specs()}
_DEFAULTS: dict[str, Any] = {key: s.default for key, s in _SPECS.items()}


def normalised_dict(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A config dict (also a stored one, possibly from an earlier version) with the fields that do not apply at
    their defaults: what the data identity, the config key and a saved config compare."""
    return without_inapplicable(raw, _DEFAULTS)


def coerce(key: str, value: Any) -> Any:
    """Convert a value (possibly text from a flag or a form) to the field's type, or raise ConfigError."""
    return coerce_spec(_SPECS[key], value)


def coerce_spec(s: FieldSpec, value: Any) -> Any:
    """coerce() for any FieldSpec, also one outside the run config."""
    key = s.key
    if isinstance(value, str) and s.type is not str:
        text = value.strip()
        if s.type is bool:
            lowered = text.lower()
            if lowered in ("true", "1", "yes", "on"):
                return True
            if lowered in ("false", "0", "no", "off"):
                return False
            raise ConfigError(key, value, s.allowed())
        try:
            return int(text) if s.type is int else float(text)
        except ValueError:
            raise ConfigError(key, value, s.allowed()) from None
    return _check_type(s, value)


def spec(key: str) -> FieldSpec:
    """The spec of a field by dotted name ("optim.lr")."""
    return _SPECS[key]


def check_value(key: str, value: Any) -> Any:
    """One field on its own: converted to the field's type and inside its range or choices, or a
    ConfigError naming the field. Rules that tie fields together are checked by check_config()."""
    return check_spec(_SPECS[key], value)


def check_spec(s: FieldSpec, value: Any) -> Any:
    """check_value() for any FieldSpec."""
    v = coerce_spec(s, value)
    _check_range(s, v)
    return v


def _check_type(s: FieldSpec, value: Any) -> Any:
    # bool is an int subclass in Python; a TOML `true` must not pass as a batch size.
    if s.type is bool:
        if isinstance(value, bool):
            return value
    elif s.type is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer() and math.isfinite(value):
            return int(value)
    elif s.type is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif s.type is str:
        if isinstance(value, str):
            return value
    raise ConfigError(s.key, value, s.allowed())


def _build_section(section: str, cls: type, raw: dict[str, Any]) -> Any:
    """A section from plain data: unknown keys are errors; the section checks its values as it is built."""
    for key, value in raw.items():
        if f"{section}.{key}" not in _SPECS:
            known = ", ".join(f.name for f in dataclasses.fields(cls))
            raise ConfigError(f"{section}.{key}", value, f"a field of [{section}]: {known}")
    return cls(**raw)


def _check_range(s: FieldSpec, value: Any) -> None:
    if s.choices is not None:
        if value not in s.choices:
            raise ConfigError(s.key, value, s.allowed())
        return
    if s.type in (int, float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(s.key, value, s.allowed())
        too_low = s.lo is not None and (value <= s.lo if s.lo_open else value < s.lo)
        too_high = s.hi is not None and (value >= s.hi if s.hi_open else value > s.hi)
        if too_low or too_high:
            raise ConfigError(s.key, value, s.allowed())


def _data_rules(d: DataConfig) -> None:
    if d.val_split + d.test_split >= 0.9:
        raise ConfigError(
            "data.test_split", d.test_split, f"validation + test fractions below 0.9 (validation is {d.val_split:g})"
        )
    if d.source in ("image_folder", "csv") and not d.path:
        raise ConfigError(
            "data.path",
            d.path,
            f"the {'folder' if d.source == 'image_folder' else 'CSV file'} to read for source {d.source!r}",
        )


def _model_rules(m: ModelConfig) -> None:
    if m.kernel_size % 2 == 0:
        raise ConfigError("model.kernel_size", m.kernel_size, "an odd integer in [1, 11]")
    if m.freeze_backbone and not m.pretrained:
        raise ConfigError("model.freeze_backbone", True, "false unless model.pretrained is true")


def _optim_rules(o: OptimConfig) -> None:
    if o.name == "sgd" and o.nesterov and o.momentum <= 0:
        raise ConfigError("optim.nesterov", True, "false unless optim.momentum > 0")


def _schedule_rules(sch: ScheduleConfig) -> None:
    if sch.name == "one_cycle" and sch.warmup_epochs > 0:
        raise ConfigError(
            "schedule.warmup_epochs",
            sch.warmup_epochs,
            "0 with the one_cycle schedule, whose first phase is already a warmup (schedule.pct_start)",
        )


def _train_rules(t: TrainConfig) -> None:
    if t.amp and t.device not in ("auto", "cuda"):
        raise ConfigError("train.amp", True, "false unless train.device is auto or cuda")


_SECTION_RULES: dict[str, Callable[[Any], None]] = {
    "data": _data_rules,
    "model": _model_rules,
    "optim": _optim_rules,
    "schedule": _schedule_rules,
    "train": _train_rules,
}


# ---- the whole config -------------------------------------------------------------------
def check_config(cfg: RunConfig) -> dict[str, ConfigError]:
    """The rules of the whole config, by the field each names: every section's own rules (so several sections
    can be marked at once), then, when those hold, the rules across sections and the files named."""
    errors: dict[str, ConfigError] = {}
    for section, rules in _SECTION_RULES.items():
        try:
            rules(getattr(cfg, section))
        except ConfigError as exc:
            errors[exc.field] = exc
    if not errors:
        try:
            _check_across_sections(cfg)
            _check_files(cfg)
        except ConfigError as exc:
            errors[exc.field] = exc
    return errors


def check_values(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, ConfigError]]:
    """Each value (text from a form or a flag, or typed) checked once on its own: (typed values, errors), both
    by field key. An unknown key is an error too."""
    typed: dict[str, Any] = {}
    errors: dict[str, ConfigError] = {}
    for key, value in values.items():
        try:
            if key not in _SPECS:
                raise ConfigError(key, value, "a known field such as optim.lr")
            typed[key] = check_value(key, value)
        except ConfigError as exc:
            errors[key] = exc
    return typed, errors


def config_from_checked(values: Mapping[str, Any]) -> tuple[RunConfig | None, dict[str, ConfigError]]:
    """The config made of values that each passed check_value (fields not given take their defaults), validated
    as a whole once: (config, {}) or (None, errors by field key)."""
    merged = {**_DEFAULTS, **values}
    sections = {}
    for section, cls in SECTIONS.items():
        part: Any = object.__new__(cls)  # the values are checked already; the rules follow in check_config
        for f in dataclasses.fields(cls):
            object.__setattr__(part, f.name, merged[f"{section}.{f.name}"])
        sections[section] = part
    cfg = object.__new__(RunConfig)
    for section, part in sections.items():
        object.__setattr__(cfg, section, part)
    errors = check_config(cfg)
    return (None, errors) if errors else (cfg, {})


def config_from_values(
    values: Mapping[str, Any], checked: Mapping[str, Any] | None = None
) -> tuple[RunConfig | None, dict[str, ConfigError]]:
    """The one way from form or flag values to a config: each of `values` checked once, then the whole config
    once. `checked` holds values that passed check_value before (a form's other fields); fields in neither
    take their defaults. Returns (config, {}) or (None, errors by field key)."""
    typed, errors = check_values(values)
    if errors:
        return None, errors
    return config_from_checked({**(checked or {}), **typed})


def config_values(cfg: RunConfig) -> dict[str, Any]:
    """Every field's value by key ("optim.lr" → 0.001)."""
    return {s.key: getattr(getattr(cfg, s.section), s.name) for s in _SPECS.values()}


def _check_across_sections(cfg: RunConfig) -> None:
    m = cfg.model
    uses_batch_norm = m.family in TORCHVISION_MODELS or (m.family in ("mlp", "cnn") and m.batch_norm)
    if cfg.train.batch_size < 2 and uses_batch_norm:
        raise ConfigError(
            "train.batch_size",
            cfg.train.batch_size,
            "at least 2 when the model uses batch normalisation (statistics of one sample are undefined)",
        )
    if cfg.schedule.warmup_epochs >= cfg.train.epochs:
        raise ConfigError(
            "schedule.warmup_epochs", cfg.schedule.warmup_epochs, f"fewer than train.epochs ({cfg.train.epochs})"
        )


def _check_files(cfg: RunConfig) -> None:
    d, m = cfg.data, cfg.model
    p = Path(d.path).expanduser()
    if d.source == "image_folder" and not p.is_dir():
        raise ConfigError("data.path", d.path, "an existing folder with one sub-folder per class")
    if d.source == "csv" and not p.is_file():
        raise ConfigError("data.path", d.path, "an existing CSV file")
    if m.family in TORCHVISION_MODELS and m.weights_path and not Path(m.weights_path).expanduser().is_file():
        raise ConfigError("model.weights_path", m.weights_path, "an existing weights file, or empty")


# ---- files ------------------------------------------------------------------------------
# Sections a config file may hold for the search (trainers/spec/search_settings.py reads them): the run config
# skips them, so one file serves `tunelab train` and `tunelab search`.
SEARCH_SECTIONS = ("search", "search_run")


def read_config_file(path: str | Path) -> tuple[Path, Any]:
    """The parsed content of a .toml or .json file, or a ConfigError naming the file."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError("config file", str(p), "an existing .toml or .json file")
    kind = "JSON" if p.suffix.lower() == ".json" else "TOML"
    try:
        text = p.read_text(encoding="utf-8")
        return p, json.loads(text) if kind == "JSON" else tomllib.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError("config file", str(p), f"a readable UTF-8 {kind} file ({exc})") from None


@contextlib.contextmanager
def errors_in_file(p: Path) -> Iterator[None]:
    """A ConfigError raised inside keeps its field, so a form can still mark it; the message names the file too."""
    try:
        yield
    except ConfigError as err:
        raise ConfigError(err.field, err.value, f"{err.allowed} (in {p})") from None


def load_config(path: str | Path) -> RunConfig:
    """Read a .toml or .json config; every problem is a ConfigError naming the file."""
    p, raw = read_config_file(path)
    if isinstance(raw, dict):
        raw = {name: part for name, part in raw.items() if name not in SEARCH_SECTIONS}
    with errors_in_file(p):
        return RunConfig.from_dict(raw)


def save_config(cfg: RunConfig, path: str | Path) -> Path:
    """Write as JSON when the name ends in .json, otherwise TOML."""
    p = Path(path).expanduser()
    raw = cfg.to_dict()
    text = json.dumps(raw, indent=2) if p.suffix.lower() == ".json" else tomli_w.dumps(raw)
    p.write_text(text, encoding="utf-8")
    return p


def config_to_toml(cfg: RunConfig) -> str:
    return tomli_w.dumps(cfg.to_dict())
