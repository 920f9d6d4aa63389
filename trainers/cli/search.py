"""`tunelab search`: a hyperparameter search from the command line. Imports no Qt, and no torch until it runs.

The base config comes as for `tunelab train` (--config or --from-trial, then field flags); without either, the
--space file's own config sections are the base. The space is the --space file's [search] section with each
`--search.FIELD SPEC` flag added or replacing a field (`--search.lr log:1e-5:1e-1`, `--search.lr fixed` takes it
out); the settings are its [search_run] section with the flags below on top. Progress goes to stderr, one line per
finished trial; the last line on stdout is one JSON object."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable, Sequence, TextIO

from trainers.cli.config_args import FIELDS_DEST, config_from_args, field_changes
from trainers.cli.exit_codes import exit_code
from trainers.spec.config import RunConfig, config_from_values, config_values, field_specs
from trainers.spec.errors import ConfigError
from trainers.spec.events import Event, LrFinderResult
from trainers.spec.search_events import SearchEnded, SearchResult, SearchStarted, SearchTrialEnded
from trainers.spec.search_param import resolve_field
from trainers.spec.search_settings import SearchSettings, check_for_sampler, load_search_file, setting_specs
from trainers.spec.search_space import SearchSpace

# The search's own settings as flags; --seed is the sampler's (the trials' seed stays --train.seed).
FLAGS = {
    "sampler": "--sampler",
    "pruner": "--pruner",
    "trials": "--trials",
    "timeout_s": "--timeout",
    "epochs": "--epochs-per-trial",
    "workers": "--workers",
    "seed": "--seed",
    "lr_finder_seed": "--lr-finder-seed",
    "monitor": "--monitor",
    "min_epochs_before_pruning": "--min-epochs-before-pruning",
    "vectorise": "--vectorise",
}
SPACE_DEST = "search_specs"
SPACE_HELP = (
    "The space: --space FILE and/or --search.FIELD SPEC for any field (dotted, e.g. --search.optim.lr, or its short "
    "name, e.g. --search.lr), SPEC one of fixed, float:LOW:HIGH[:STEP], log:LOW:HIGH, int:LOW:HIGH[:STEP], "
    "logint:LOW:HIGH, choice:A,B,... — e.g. --search.lr log:1e-5:1e-1 --search.batch_size choice:32,64,128."
)


class _SpaceFlag(argparse.Action):
    """Appends (field as typed, spec) in the order given."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        name = (option_string or "").removeprefix("--search.")
        setattr(namespace, self.dest, [*(getattr(namespace, self.dest, None) or []), (name, str(values))])


def _space_names() -> list[str]:
    """Every dotted field, and each short name that names one field only."""
    keys = [s.key for s in field_specs()]
    shorts = [k.partition(".")[2] for k in keys]
    return keys + [s for s in shorts if shorts.count(s) == 1 and s not in keys]


def add_parser(sub: Any, add_config_flags: Callable, add_store_flag: Callable) -> None:
    p = sub.add_parser(
        "search",
        help="hyperparameter search (Optuna): many trials over a space of config fields, pruned, ranked",
        conflict_handler="resolve",  # --seed is the search's; the trials' seed stays --train.seed
    )
    add_config_flags(p)
    p.add_argument(
        "--space", metavar="FILE", help="a .toml or .json search file: config sections, [search], [search_run]"
    )
    for name in _space_names():
        p.add_argument(f"--search.{name}", action=_SpaceFlag, dest=SPACE_DEST, default=[], help=argparse.SUPPRESS)
    for s in setting_specs():
        switch = {"nargs": "?", "const": "true"} if s.type is bool else {}
        p.add_argument(
            FLAGS[s.name],
            dest=f"search_run.{s.name}",
            default=None,
            metavar=s.type.__name__.upper(),
            help=f"{s.help} ({s.allowed()}; default {s.default!r})",
            **switch,
        )
    add_store_flag(p)
    p.add_argument("--json", action="store_true", help="print only the result's JSON line on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.epilog = SPACE_HELP + " " + (p.epilog or "")


def search_from_args(args: argparse.Namespace) -> tuple[RunConfig, SearchSpace, SearchSettings]:
    """The base config, the space and the settings; a ConfigError naming the field (or flag) when one is bad."""
    file_cfg, file_space, file_settings = load_search_file(args.space) if args.space else (None, None, None)
    cfg = _base_config(args, file_cfg)
    space = space_from(cfg, file_space, getattr(args, SPACE_DEST))
    given = {s.name: getattr(args, f"search_run.{s.name}") for s in setting_specs()}
    settings = (file_settings or SearchSettings()).replace(**{k: v for k, v in given.items() if v is not None})
    if not space.params:
        raise ConfigError("--search", "", f"a space to search: {SPACE_HELP}")
    check_for_sampler(space, settings)
    return cfg, space, settings


def _base_config(args: argparse.Namespace, file_cfg: RunConfig | None) -> RunConfig:
    """As `tunelab train` reads it; without --config or --from-trial, the space file's config is the source."""
    if file_cfg is None or args.config or args.from_trial is not None:
        return config_from_args(args)
    changes, notes = field_changes(getattr(args, FIELDS_DEST))
    if "early_stop.patience" in changes and "early_stop.enabled" not in changes:
        changes["early_stop.enabled"] = "true"  # as `tunelab train`: giving a patience means wanting early stopping
    cfg = file_cfg
    if changes:
        changed, errors = config_from_values(changes, checked=config_values(cfg))
        if changed is None:
            raise next(iter(errors.values()))
        cfg = changed
    for line in notes:
        print(line, file=sys.stderr)
    return cfg


def space_from(cfg: RunConfig, file_space: SearchSpace | None, flags: Sequence[tuple[str, str]]) -> SearchSpace:
    """The file's space with each flag's field added or replaced (the later flag for one field winning)."""
    raw: dict[str, str] = dict(file_space.to_dict()) if file_space else {}
    for name, spec in flags:
        raw[resolve_field(name, spec)] = spec
    return SearchSpace.from_dict(raw, cfg)


def run(args: argparse.Namespace, parsed: tuple[RunConfig, SearchSpace, SearchSettings], control: Any) -> int:
    from trainers.api import TrialStore, run_search

    cfg, space, settings = parsed
    with TrialStore(args.store) as store:
        result = run_search(
            cfg, space, settings, store=store, sink=SearchProgress(sys.stderr, not args.quiet), control=control
        )
    if result.status != "completed" and result.message:
        print(f"tunelab: search {result.search_id} {result.status}: {result.message}", file=sys.stderr)
    if not args.json:
        print(report(result))
    print(as_json(result), flush=True)
    return exit_code(result.status)


def as_json(result: SearchResult) -> str:
    d = result.to_dict()
    keys = (
        "search_id",
        "status",
        "best_trial_id",
        "best_value",
        "best_params",
        "counts",
        "seconds",
        "storage",
        "study",
    )
    return json.dumps({**{k: d[k] for k in keys}, "monitor": result.monitor}, allow_nan=False)


def report(result: SearchResult) -> str:
    counts = ", ".join(f"{n} {k}" for k, n in result.counts.items())
    lines = [f"search {result.search_id} {result.status} in {result.seconds:.1f}s: {counts}"]
    if result.best_trial_id is not None:
        lines.append(f"  best: trial {result.best_trial_id} ({result.monitor} {_num(result.best_value)})")
        lines += [f"    {k} = {_value(v)}" for k, v in result.best_params.items()]
    lines.append(f"  study {result.study} in {result.storage}")
    return "\n".join(lines)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _value(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


class SearchProgress:
    """One line when the search starts and one per finished trial; the trials' own epochs are not shown."""

    def __init__(self, stream: TextIO, enabled: bool = True, prefix: str = "") -> None:
        self.stream, self.enabled, self.prefix = stream, enabled, prefix
        self.best: float | None = None
        self.maximise = True

    def emit(self, event: Event) -> None:
        if not self.enabled:
            return
        if isinstance(event, SearchStarted):
            self.maximise = not event.monitor.endswith("loss")
            budget = f"{event.trials} trials" if event.trials else f"{event.timeout_s:g} s"
            self._line(
                f"search {event.search_id}: {event.sampler} sampler, {event.pruner} pruner, {budget} of up to "
                f"{event.epochs or '?'} epochs, {event.workers} worker(s); study {event.study} in {event.storage}"
            )
        elif isinstance(event, SearchTrialEnded):
            self._trial(event)
        elif isinstance(event, LrFinderResult):
            self._line(f"LR finder (trial {event.trial_id}) {event.status} in {event.seconds:.1f}s")
        elif isinstance(event, SearchEnded):
            pass  # the command prints the result

    def _trial(self, e: SearchTrialEnded) -> None:
        if e.state == "complete" and e.value is not None:
            if self.best is None or (e.value > self.best if self.maximise else e.value < self.best):
                self.best = e.value
        params = " ".join(f"{k}={_value(v)}" for k, v in e.params.items())
        pruned = f" at epoch {e.pruned_at}" if e.pruned_at is not None else ""
        self._line(
            f"trial {e.number} (#{e.trial_id}) {e.state}{pruned}: {_num(e.value)} after {e.epochs} epochs  "
            f"{params}  best {_num(self.best)}"
        )

    def _line(self, text: str) -> None:
        self.stream.write(self.prefix + text + "\n")
        self.stream.flush()
