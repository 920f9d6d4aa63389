"""The run-config flags of `train`, `lr-find` and `ensemble`, and the one rule that turns them into a RunConfig:
the config source (--config FILE or --from-trial ID) first, then the command line's field values in the order
given, the later one winning. Imports no torch: a bad flag is refused before the engine loads."""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import dataclass
from typing import Any, Sequence, TextIO

from trainers.spec.config import RunConfig, check_value, config_from_values, config_values, field_specs, load_config
from trainers.spec.errors import ConfigError
from trainers.spec.trial_config import stored_run_config

# Short flags for the fields people set most; every field also has a --section.field flag.
ALIASES: dict[str, str] = {
    "dataset": "data.source",
    "data-path": "data.path",
    "target-column": "data.target_column",
    "train-fraction": "data.train_fraction",
    "val-split": "data.val_split",
    "test-split": "data.test_split",
    "model": "model.family",
    "dropout": "model.dropout",
    "optimizer": "optim.name",
    "lr": "optim.lr",
    "weight-decay": "optim.weight_decay",
    "schedule": "schedule.name",
    "batch-size": "train.batch_size",
    "epochs": "train.epochs",
    "seed": "train.seed",
    "device": "train.device",
    "threads": "train.threads",
    "early-stopping-patience": "early_stop.patience",
}
FIELDS_DEST = "field_values"  # every field flag and --set append to this one list, so their order survives
PRECEDENCE = (
    "Precedence: the config source (--config FILE or --from-trial ID) first, then the field values on the "
    "command line in the order given, the later one winning. A short flag (--lr), its --section.field "
    "spelling (--optim.lr) and --set optim.lr=... are the same field; when one field is given twice with "
    "different values a note on stderr names both."
)


@dataclass(frozen=True)
class Given:
    """One field value as typed: `key` is empty for a --set pair without '='."""

    key: str
    value: str
    shown: str  # the flag as typed, e.g. "--lr 0.3"


class _FieldValue(argparse.Action):
    """Appends each field value to one list in the order given (argparse keeps no order across dests)."""

    def __init__(self, option_strings: Sequence[str], dest: str, key: str = "", **kwargs: Any) -> None:
        self.key = key  # empty: the value is a KEY=VALUE pair (--set)
        super().__init__(option_strings, dest, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        text = str(values)
        key, value = (self.key, text) if self.key else _pair(text)
        given = Given(key, value, f"{option_string} {shlex.quote(text)}")
        setattr(namespace, self.dest, [*(getattr(namespace, self.dest, None) or []), given])


def _pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    return (key.strip(), value) if sep else ("", text)


def add_config_flags(p: argparse.ArgumentParser) -> None:
    """--config or --from-trial, --set and one flag per field (plus the short aliases)."""
    source = p.add_mutually_exclusive_group()
    source.add_argument("--config", help="a .toml or .json run config to start from; field flags override it")
    source.add_argument(
        "--from-trial",
        type=int,
        metavar="TRIAL_ID",
        help="start from a stored trial's config (in the --store store); field flags override it",
    )
    p.add_argument(
        "--set",
        action=_FieldValue,
        dest=FIELDS_DEST,
        default=[],
        metavar="KEY=VALUE",
        help="set any field by dotted name, e.g. --set schedule.name=cosine; the later of two values for one "
        "field wins",
    )
    short = {v: k for k, v in ALIASES.items()}
    for s in field_specs():
        names = [f"--{s.key}"] + ([f"--{short[s.key]}"] if s.key in short else [])
        p.add_argument(
            *names,
            action=_FieldValue,
            key=s.key,
            dest=FIELDS_DEST,
            default=[],
            metavar=s.type.__name__.upper(),
            help=f"{s.help} ({s.allowed()}; default {s.default!r})",
        )
    p.epilog = PRECEDENCE


def config_given(args: argparse.Namespace) -> bool:
    """Whether the command line says anything about the run config."""
    return bool(args.config or args.from_trial is not None or getattr(args, FIELDS_DEST))


def config_from_args(args: argparse.Namespace, notes: TextIO | None = None) -> RunConfig:
    """The config source (defaults, the --config file or the --from-trial trial's config), then the command
    line's field values in the order given, the later winning. A field given twice with different values gets
    a note on `notes` (stderr), printed once the config is valid."""
    cfg = _source_config(args)
    changes, lines = field_changes(getattr(args, FIELDS_DEST))
    if "early_stop.patience" in changes and "early_stop.enabled" not in changes:
        changes["early_stop.enabled"] = "true"  # giving a patience means wanting early stopping
    if changes:
        changed, errors = config_from_values(changes, checked=config_values(cfg))
        if changed is None:
            raise next(iter(errors.values()))  # one error at a time, naming its field
        cfg = changed
    for line in lines:
        print(line, file=notes or sys.stderr)
    return cfg


def _source_config(args: argparse.Namespace) -> RunConfig:
    if args.from_trial is not None:
        return trial_config(args.store, args.from_trial)
    return load_config(args.config) if args.config else RunConfig()


def trial_config(store_url: str | None, trial_id: int) -> RunConfig:
    """A stored trial's config, the store opened read-only; StoreError for an unknown trial, ConfigError naming
    the trial when its config no longer validates."""
    from trainers.store import TrialStore

    with TrialStore(store_url, read_only=True) as store:
        trial = store.get_trial(trial_id)
    if trial.kind not in ("train", "lr_test"):
        raise ConfigError(
            "--from-trial", trial_id, f"a training or LR finder trial (trial {trial_id} is of kind {trial.kind})"
        )
    return stored_run_config(trial_id, trial.config)


def field_changes(given: Sequence[Given]) -> tuple[dict[str, Any], list[str]]:
    """The last value of each field, and a note for each field given with different values."""
    by_key: dict[str, list[Given]] = {}
    for g in given:
        if not g.key:
            raise ConfigError("--set", g.value, "KEY=VALUE with a dotted field name, e.g. optim.lr=0.01")
        by_key.setdefault(g.key, []).append(g)
    notes = [_note(key, gs) for key, gs in by_key.items() if len({_typed(key, g.value) for g in gs}) > 1]
    return {key: gs[-1].value for key, gs in by_key.items()}, notes


def _typed(key: str, value: str) -> Any:
    """The value as the field reads it, so 0.3 and 0.30 count as the same; the text when it does not read."""
    try:
        return check_value(key, value)
    except (ConfigError, KeyError):
        return value


def _note(key: str, gs: list[Given]) -> str:
    times, which = ("twice", "the later one") if len(gs) == 2 else (f"{len(gs)} times", "the last one")
    order = ", then ".join(g.shown for g in gs)
    return f"tunelab: note: {key} given {times} ({order}): using {gs[-1].value}, {which}"
