"""`tunelab tensorboard-export [IDS | --all] --logdir DIR`: stored trials as TensorBoard runs (scalars per epoch,
hyperparameters and final metrics in the HParams view), for `tensorboard --logdir DIR`. Imports no Qt."""

from __future__ import annotations

import argparse
from typing import Any, Callable

from trainers.spec.errors import ConfigError


def add_parser(sub: Any, add_store_flag: Callable) -> None:
    p = sub.add_parser(
        "tensorboard-export",
        help="write stored trials as TensorBoard event files (scalars per epoch, HParams view)",
        description="One run folder per trial (trial-ID) under --logdir; exporting a trial again replaces its run. "
        "Then: tensorboard --logdir DIR",
    )
    p.add_argument("trial_ids", type=int, nargs="*", metavar="TRIAL_ID", help="the trials to export")
    p.add_argument("--all", action="store_true", help="every finished training trial and ensemble in the store")
    p.add_argument("--logdir", required=True, help="the folder TensorBoard reads (created when missing)")
    add_store_flag(p)


def run(args: argparse.Namespace) -> int:
    if bool(args.trial_ids) == bool(args.all):
        raise ConfigError("TRIAL_ID", " ".join(map(str, args.trial_ids)), "one or more trial ids, or --all (not both)")
    from trainers.store import TrialStore
    from trainers.trials.tensorboard_export import export_tensorboard

    with TrialStore(args.store, read_only=True) as store:
        runs = export_tensorboard(store, None if args.all else args.trial_ids, args.logdir)
    for folder in runs:
        print(folder)
    print(f"{len(runs)} run{'s' if len(runs) != 1 else ''} written: tensorboard --logdir {args.logdir}")
    return 0
