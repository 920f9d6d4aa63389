"""`tunelab lr-find`: the learning-rate range test from the command line. Imports no Qt."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable, TextIO

from trainers.cli.exit_codes import exit_code
from trainers.cli.progress import ProgressSink
from trainers.spec.events import Event, LrFinderResult, Sink
from trainers.spec.lr_finder_settings import LrFinderSettings, setting_specs
from trainers.spec.lr_verify_events import LrVerifyEpoch, LrVerifyStarted, VerifiedRate
from trainers.spec.rates import recommendation_text, recommended_rate

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
    "verify": "--verify",
    "verify_candidates": "--verify-candidates",
}
LABELS = {"steepest": "steepest", "valley": "valley", "min_div_10": "min ÷ 10"}


def add_parser(sub: Any, add_config_flags: Callable, add_store_flag: Callable) -> None:
    p = sub.add_parser("lr-find", help="LR finder (a learning-rate range test): suggestions for the learning rate")
    add_config_flags(p)
    for s in setting_specs():
        # a switch on its own turns it on (`--verify`); a value still sets it either way (`--verify false`)
        switch = {"nargs": "?", "const": "true"} if s.type is bool else {}
        p.add_argument(
            FLAGS[s.name],
            dest=f"range_test.{s.name}",
            default=None,
            metavar=s.type.__name__.upper(),
            help=f"{s.help} ({s.allowed()}; default {s.default!r})",
            **switch,
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
        sink = VerifyProgress(ProgressSink(sys.stderr, enabled=not args.quiet), sys.stderr, not args.quiet)
        result = run_lr_finder(cfg, settings, sink=sink, control=control, store=store)
    if result.status == "failed":
        print(f"tunelab: trial {result.trial_id} failed: {result.message}", file=sys.stderr)
    print(as_json(result) if args.json else report(result), flush=True)
    return exit_code(result.status)


def as_json(result: LrFinderResult) -> str:
    """The result as one JSON object, with the rate to train at (the verified one when it was checked)."""
    return json.dumps({**result.to_dict(), "recommended": recommended_rate(result)}, allow_nan=False)


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
    if result.verified is not None:
        lines.extend(evidence(result.verified))
    rate = recommended_rate(result)
    if rate is not None:
        lines.append(f"  {'because':<10} {recommendation_text(result)}")
        lines.append(f"  {'use':<10} {rate:.2e}")
    return "\n".join(lines)


def evidence(verified: VerifiedRate) -> list[str]:
    """The short runs that checked the suggestion: one line per candidate and rung, the chosen one marked."""
    loss = "val loss" if verified.ranked_by == "val_loss" else "train loss"
    lines = [
        f"  checked by short runs (schedule over {verified.planned_epochs} epochs):",
        f"    {'rate':<10} {'epochs':>6} {loss:>10} {'acc':>7}",
    ]
    for row in verified.rows:
        mark = "  ← chosen" if row.outcome == "chosen" else f"  {row.outcome}"
        lines.append(
            f"    {row.rate:<10.2e} {row.epochs:>6} {_num(row.val_loss, '.4f'):>10} {_num(row.val_acc, '.2%'):>7}{mark}"
        )
    lines.append(f"    {verified.message}")
    return lines


def _num(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


class VerifyProgress:
    """The progress sink, with one line per epoch of the verification's short runs."""

    def __init__(self, inner: Sink, stream: TextIO, enabled: bool) -> None:
        self.inner, self.stream, self.enabled = inner, stream, enabled
        self.tty = hasattr(stream, "isatty") and stream.isatty()

    def emit(self, event: Event) -> None:
        if self.enabled and isinstance(event, LrVerifyStarted):
            rates = ", ".join(f"{r:.2e}" for r in event.candidates)
            after = ", ".join(str(n) for n in event.rungs)
            self._line(f"checking {len(event.candidates)} rates by short runs ({rates}), compared after {after} epochs")
        elif self.enabled and isinstance(event, LrVerifyEpoch):
            self._line(
                f"check {event.done}/{event.total}: rate {event.rate:.2e} epoch {event.epoch}/{event.rung_epochs}  "
                f"val loss {_num(event.val_loss, '.4f')} acc {_num(event.val_acc, '.4f')}"
            )
        self.inner.emit(event)

    def _line(self, text: str) -> None:
        self.stream.write(("\r\x1b[K" if self.tty else "") + text + "\n")
        self.stream.flush()
