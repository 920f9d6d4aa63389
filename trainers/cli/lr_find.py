"""`tunelab lr-find`: the learning-rate range test from the command line. Imports no Qt."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable

from trainers.cli.exit_codes import exit_code
from trainers.cli.progress import ProgressSink
from trainers.spec.events import LrFinderResult
from trainers.spec.lr_finder_settings import LrFinderSettings, setting_specs

# The range test's own settings as flags; the run config's flags come from the train command's table.
FLAGS = {
    "start_lr": "--start-lr",
    "end_lr": "--end-lr",
    "iterations": "--iterations",
    "mode": "--mode",
    "smoothing": "--smoothing",
    "diverge_factor": "--diverge-factor",
    "repeats": "--repeats",
    "val_loss": "--val-loss",
    "val_samples": "--val-samples",
}
LABELS = {"steepest": "steepest", "valley": "valley", "min_div_10": "min ÷ 10"}


def add_parser(sub: Any, add_config_flags: Callable, add_store_flag: Callable) -> None:
    p = sub.add_parser("lr-find", help="LR finder (a learning-rate range test): suggestions for the learning rate")
    add_config_flags(p)
    for s in setting_specs():
        p.add_argument(
            FLAGS[s.name],
            dest=f"range_test.{s.name}",
            default=None,
            metavar=s.type.__name__.upper(),
            help=f"{s.help} ({s.allowed()}; default {s.default!r})",
        )
    add_store_flag(p)
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress output")


def settings_from_args(args: argparse.Namespace) -> LrFinderSettings:
    given = {s.name: getattr(args, f"range_test.{s.name}") for s in setting_specs()}
    return LrFinderSettings().replace(**{k: v for k, v in given.items() if v is not None})


def run(args: argparse.Namespace, cfg: Any, control: Any, settings: LrFinderSettings) -> int:
    from trainers.api import TrialStore, run_lr_finder

    with TrialStore(args.store) as store:
        sink = ProgressSink(sys.stderr, enabled=not args.quiet)
        result = run_lr_finder(cfg, settings, sink=sink, control=control, store=store)
    if result.status == "failed":
        print(f"tunelab: trial {result.trial_id} failed: {result.message}", file=sys.stderr)
    print(result.to_json() if args.json else report(result), flush=True)
    return exit_code(result.status)


def report(result: LrFinderResult) -> str:
    """The suggestions as a short table, or why there is none."""
    lines = [f"trial {result.trial_id}: LR finder {result.status}"]
    if all(v is None for v in result.suggestions.values()):
        lines.append(result.message or "no suggestion")
        return "\n".join(lines)
    for name, label in LABELS.items():
        value = result.suggestions.get(name)
        spread = result.spreads.get(name)
        text = "-" if value is None else f"{value:.2e}"
        if value is not None and spread:
            text += f"  ({spread[0]:.2e} – {spread[1]:.2e} over {len(result.curves)} seeds)"
        lines.append(f"  {label:<10} {text}")
    if result.agreed:
        lo, hi = result.agreed
        lines.append(f"  {'agreed':<10} {lo:.2e} – {hi:.2e}  ({', '.join(LABELS[n] for n in result.agreeing)})")
    else:
        lines.append("  the suggestions do not agree within a factor of 3: look at the curve")
    return "\n".join(lines)
