"""`tunelab ensemble`: combine stored trials, or train new members, from the command line. Imports no Qt."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable, TextIO

from trainers.cli.config_args import config_given
from trainers.cli.exit_codes import exit_code
from trainers.spec.ensemble_events import EnsembleResult, EnsembleStarted, MemberProgress, MemberScore
from trainers.spec.ensemble_settings import (
    COMBINE_METHODS,
    METHOD_LABELS,
    METHODS,
    TRAIN_METHODS,
    EnsembleSettings,
    setting_specs,
)
from trainers.spec.errors import ConfigError

FLAGS = {
    "method": "--method",
    "top": "--top",
    "trials": "--trials",
    "select_by": "--select-by",
    "members": "--members",
    "boost_rate": "--boost-rate",
    "vectorise": "--vectorise",
    "folds": "--folds",
    "pool": "--pool",
    "rounds": "--rounds",
}


def add_parser(sub: Any, add_config_flags: Callable, add_store_flag: Callable) -> None:
    p = sub.add_parser(
        "ensemble",
        help="combine the best trials, or train bagging, boosting or snapshot members",
        description=f"Combining methods ({', '.join(COMBINE_METHODS)}) use --top K or --trials (greedy-selection, "
        f"the default, chooses among the best --pool N trials, with replacement, on validation accuracy, then "
        f"log loss); "
        f"training methods ({', '.join(TRAIN_METHODS)}) use --members K and the same "
        f"config flags as `tunelab train`.",
    )
    for s in setting_specs():
        p.add_argument(
            FLAGS[s.name],
            dest=f"ensemble.{s.name}",
            default=None,
            metavar=s.type.__name__.upper(),
            **({"choices": METHODS} if s.name == "method" else {}),
            help=f"{s.help} ({s.allowed()}; default {s.default!r})",
        )
    add_config_flags(p)
    add_store_flag(p)
    p.add_argument("--export", metavar="PATH", help="also write the ensemble to this file (.tlens)")
    p.add_argument("--json", action="store_true", help="print the members' and the ensemble's metrics as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress output")


def settings_from_args(args: argparse.Namespace) -> EnsembleSettings:
    given = {s.name: getattr(args, f"ensemble.{s.name}") for s in setting_specs()}
    settings = EnsembleSettings().replace(**{k: v for k, v in given.items() if v is not None})
    if config_given(args) and not settings.trains:
        raise ConfigError(
            "--method",
            settings.method,
            "a training method ("
            + ", ".join(TRAIN_METHODS)
            + ") when config flags are given: combining methods use the stored trials' own configs",
        )
    return settings


def run(args: argparse.Namespace, cfg: Any, control: Any, settings: EnsembleSettings) -> int:
    from trainers.api import TrialStore, export_ensemble, run_ensemble

    # combining reads stored trials, so their store must exist; training methods may start a new one
    with TrialStore(args.store) if settings.trains else TrialStore.open_existing(args.store) as store:
        sink = EnsembleProgress(sys.stderr, enabled=not args.quiet)
        result = run_ensemble(settings, cfg if settings.trains else None, sink=sink, control=control, store=store)
        exported = (
            export_ensemble(store, result.trial_id, args.export)
            if args.export and result.file and result.trial_id is not None
            else None
        )
    if result.status != "completed":
        print(f"tunelab: ensemble {result.trial_id} {result.status}: {result.message}", file=sys.stderr)
    if args.json:
        data = result.to_dict()
        data["exported"] = str(exported) if exported else None
        import json

        print(json.dumps(data, indent=1), flush=True)
    else:
        print(report(result) + (f"\nexported to {exported}" if exported else ""), flush=True)
    return exit_code(result.status)


def _fmt(value: float | None, spec: str = ".4f") -> str:
    return "-" if value is None else format(value, spec)


def _row(s: MemberScore) -> str:
    weight = _fmt(s.weight, ".3f") if s.weight is not None else ""
    return (
        f"  {s.label[:28]:<28} {weight:>7}  {_fmt(s.val_acc)}  {_fmt(s.val_loss)}  {_fmt(s.test_acc)}  "
        f"{_fmt(s.test_loss)}"
    )


def report(result: EnsembleResult) -> str:
    """The results table, the gains and the diversity."""
    lines = [
        f"ensemble {result.trial_id}: {METHOD_LABELS.get(result.method, result.method)} {result.status} "
        f"in {result.seconds:.1f}s"
    ]
    if result.ensemble is None:
        lines.append(result.message or "no ensemble")
        return "\n".join(lines)
    lines.append(f"  {'':<28} {'weight':>7}  val acc val loss  test acc test loss")
    lines += [_row(m) for m in result.members]
    lines.append(_row(result.ensemble))
    for metric, name in (("val_acc", "validation"), ("test_acc", "test")):
        g = result.gains.get(metric, {})
        best, mean = g.get("best"), g.get("mean")
        if best is not None and mean is not None:
            lines.append(
                f"  {name} accuracy gain: {100 * best:+.2f} points over the best member, "
                f"{100 * mean:+.2f} over the mean member"
            )
    lines += _best_single_lines(result)
    if result.diversity is not None:
        lines.append(
            f"  diversity: members disagree on {100 * result.diversity:.1f} % of {result.diversity_split} "
            f"samples (mean over pairs)"
        )
    if result.member_note:
        lines.append(f"  {result.member_note}")
    if result.message:
        lines.append(f"  note: {result.message}")
    if result.file:
        lines.append(f"  saved: {result.file}")
    return "\n".join(lines)


def _best_single_lines(result: EnsembleResult) -> list[str]:
    """The best stored trial alone beside the ensemble: whether combining beat simply using it."""
    b = result.best_single
    if b is None:
        return []
    lines = [
        f"  best single trial {b.label.split(' · ')[0]} (ranked first of {result.pool}): val acc {_fmt(b.val_acc)}, "
        f"test acc {_fmt(b.test_acc)}"
    ]
    for metric, name in (("val_acc", "validation"), ("test_acc", "test")):
        first = result.gains.get(metric, {}).get("first")
        if first is not None:
            lines.append(f"  {name} accuracy gain over the best single trial: {100 * first:+.2f} points")
    return lines


class EnsembleProgress:
    """A line when the ensemble starts and one as each member finishes."""

    def __init__(self, stream: TextIO, enabled: bool = True) -> None:
        self.stream = stream
        self.enabled = enabled

    def emit(self, event: Any) -> None:
        if not self.enabled:
            return
        if isinstance(event, EnsembleStarted):
            how = (
                ("trained together (vectorised)" if event.vectorised else "trained one after another")
                if event.epochs
                else "loaded from the store"
            )
            self._line(
                f"ensemble {event.trial_id}: {METHOD_LABELS.get(event.method, event.method)}, "
                f"{len(event.labels)} members {how}"
            )
        elif isinstance(event, MemberProgress) and event.epoch == event.epochs:
            self._line(
                f"  member {event.member + 1}: {event.epochs} epochs, val loss {_fmt(event.val_loss)} "
                f"acc {_fmt(event.val_acc)}"
            )
        elif isinstance(event, EnsembleResult):
            self._line(f"ensemble {event.status} in {event.seconds:.1f}s")

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()
