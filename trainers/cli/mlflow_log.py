"""`tunelab mlflow-log [IDS | --all] --tracking-uri URI`: finished trials logged to MLflow, one run each (config as
parameters, metrics per epoch, final metrics, status and notes as tags). Needs the mlflow extra. Imports no Qt."""

from __future__ import annotations

import argparse
import os
from typing import Any, Callable

from trainers.spec.errors import ConfigError


def add_parser(sub: Any, add_store_flag: Callable) -> None:
    p = sub.add_parser(
        "mlflow-log",
        help="log finished trials to MLflow, one run each (needs: pip install 'tunelab[mlflow]')",
        description="Each finished trial becomes one MLflow run, written in batches. A trial logged before from the "
        "same store is left as it is, so --all again adds only the new ones.",
    )
    p.add_argument("trial_ids", type=int, nargs="*", metavar="TRIAL_ID", help="the trials to log")
    p.add_argument("--all", action="store_true", help="every finished training trial and ensemble in the store")
    p.add_argument(
        "--tracking-uri",
        default=None,
        help="where MLflow keeps runs, e.g. sqlite:///mlflow.db or http://host:5000 (default: $MLFLOW_TRACKING_URI)",
    )
    p.add_argument("--experiment", default="TuneLab", help="the MLflow experiment (created when missing)")
    add_store_flag(p)


def run(args: argparse.Namespace) -> int:
    if bool(args.trial_ids) == bool(args.all):
        raise ConfigError("TRIAL_ID", " ".join(map(str, args.trial_ids)), "one or more trial ids, or --all (not both)")
    uri = args.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        raise ConfigError("--tracking-uri", "", "where MLflow keeps runs, e.g. sqlite:///mlflow.db or http://host:5000")
    from trainers.store import TrialStore
    from trainers.trials.mlflow_log import log_to_mlflow

    with TrialStore(args.store, read_only=True) as store:
        logged = log_to_mlflow(store, None if args.all else args.trial_ids, uri, args.experiment)
    for item in logged:
        print(f"trial {item.trial_id}: run {item.run_id}" + ("" if item.new else " (logged before)"))
    new = sum(item.new for item in logged)
    print(f"{new} trial{'s' if new != 1 else ''} logged to MLflow experiment {args.experiment!r} at {uri}")
    return 0
