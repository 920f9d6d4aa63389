"""`tunelab diagnose TRIAL_ID`: what is wrong with a stored run, the numbers behind it and what to try.
Imports no Qt."""

from __future__ import annotations

import argparse
import json
import shlex
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # only named in annotations: the diagnosis (and numpy) load when the command runs
    from trainers.diagnosis.diagnose import Diagnosis, Intervention

# What to do for the interventions that are not a config change.
ROUTES = {
    "lr_finder": "run `tunelab lr-find` with this trial's settings",
    "ensemble": "combine several trained trials into an ensemble",
}


def add_parser(sub: Any, add_store_flag: Callable) -> None:
    p = sub.add_parser(
        "diagnose", help="label a stored run (overfitting, learning rate too high, ...) and list what to change"
    )
    p.add_argument("trial_id", type=int, metavar="TRIAL_ID", help="the trial's id, as `tunelab history` shows it")
    add_store_flag(p)
    p.add_argument("--json", action="store_true", help="print the diagnosis as one JSON object")


def run(args: argparse.Namespace) -> int:
    from trainers.api import TrialStore, diagnose_trial

    with TrialStore(args.store, read_only=True) as store:
        diagnosis = diagnose_trial(store, args.trial_id)
    if args.json:
        print(json.dumps({"trial_id": args.trial_id, **diagnosis.to_dict()}, allow_nan=False))
    else:
        print(report(args.trial_id, diagnosis))
    return 0


def flag_value(value: object) -> str:
    """A value as the --set flag reads it back."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return shlex.quote(str(value))


def set_flags(item: Intervention) -> str:
    return " ".join(f"--set {key}={flag_value(value)}" for key, value in item.changes.items())


def report(trial_id: int, d: Diagnosis) -> str:
    lines = [f"trial {trial_id}: {d.title}", d.summary]
    if d.onset_epoch is not None:
        lines.append(f"{d.title} began at epoch {d.onset_epoch}")
    lines += ["", "evidence:"] + [f"  - {e.text}" for e in d.evidence]
    if d.interventions:
        lines += ["", "interventions, best first:"]
        for rank, item in enumerate(d.interventions, start=1):
            lines.append(f"  {rank}. {item.title}: {item.why}")
            lines.append(f"     {set_flags(item) if item.changes else ROUTES.get(item.key, '')}".rstrip())
    return "\n".join(lines)
