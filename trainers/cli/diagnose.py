"""`tunelab diagnose TRIAL_ID`: what is wrong with a stored run, the numbers behind it and what to try.
Imports no Qt."""

from __future__ import annotations

import argparse
import json
import shlex
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # only named in annotations: the diagnosis (and numpy) load when the command runs
    from trainers.diagnosis.diagnose import Diagnosis, Intervention

# Interventions that change no field, as the command that does what they say (run on the diagnosed trial's config).
NO_CHANGE_COMMANDS = {
    "lr_finder": ["lr-find"],
    "ensemble": ["ensemble", "--method", "bagging", "--members", "5"],
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
        data = {"trial_id": args.trial_id, **diagnosis.to_dict()}
        for item, out in zip(diagnosis.interventions, data["interventions"]):
            out["command"] = command(args.trial_id, item, args.store)
        print(json.dumps(data, allow_nan=False))
    else:
        print(report(args.trial_id, diagnosis, args.store))
    return 0


def flag_value(value: object) -> str:
    """A value as the --set flag reads it back: floats in their shortest exact form, so the run gets the value the
    intervention holds, and whole ones without ".0", which an integer field would refuse."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    return str(value)


def command(trial_id: int, item: Intervention, store: str | None = None) -> str | None:
    """The whole command that tries the intervention on the diagnosed trial's config, quoted to work as printed;
    None for an intervention this command line cannot make."""
    if item.changes:
        words = ["train", "--from-trial", str(trial_id)]
        words += [w for key, value in item.changes.items() for w in ("--set", f"{key}={flag_value(value)}")]
    elif item.key in NO_CHANGE_COMMANDS:
        words = [*NO_CHANGE_COMMANDS[item.key], "--from-trial", str(trial_id)]
    else:
        return None
    from trainers.spec.url_display import without_password  # printed: the password comes from PGPASSWORD or ~/.pgpass

    return shlex.join(["tunelab", *words, *(["--store", without_password(store)] if store else [])])


def report(trial_id: int, d: Diagnosis, store: str | None = None) -> str:
    lines = [f"trial {trial_id}: {d.title}", d.summary]
    if d.onset_epoch is not None:
        lines.append(f"{d.title} began at epoch {d.onset_epoch}")
    lines += ["", "evidence:"] + [f"  - {e.text}" for e in d.evidence]
    if d.interventions:
        lines += ["", "interventions, best first:"]
        for rank, item in enumerate(d.interventions, start=1):
            lines.append(f"  {rank}. {item.title}: {item.why}")
            lines.append(f"     {command(trial_id, item, store) or ''}".rstrip())
    return "\n".join(lines)
