"""`tunelab report TRIAL_ID -o report.html`: one self-contained HTML report of a stored training run, ensemble or
search, to open in any browser or send to someone. Imports no Qt."""

from __future__ import annotations

import argparse
from typing import Any, Callable


def add_parser(sub: Any, add_store_flag: Callable) -> None:
    p = sub.add_parser(
        "report",
        help="write one self-contained HTML report of a trial, an ensemble or a search",
        description="The config, curves, diagnosis, evaluation (when `tunelab evaluate` stored one) and environment "
        "of a training run; the members and scores of an ensemble; the trials, best trial, optimisation history and "
        "parameter importance of a search. Everything is inline: the file opens offline.",
    )
    p.add_argument("trial_id", type=int, metavar="TRIAL_ID", help="the trial's id, as `tunelab history` shows it")
    p.add_argument(
        "-o", "--output", default=None, help="the HTML file to write (default: report-TRIAL_ID.html in this folder)"
    )
    add_store_flag(p)


def run(args: argparse.Namespace) -> int:
    from trainers.store import TrialStore
    from trainers.use.report import write_report

    with TrialStore(args.store, read_only=True) as store:
        written = write_report(store, args.trial_id, args.output or f"report-{args.trial_id}.html")
    print(written)
    return 0
