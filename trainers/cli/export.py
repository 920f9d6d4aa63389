"""`tunelab export TRIAL_ID -o DIR` (or `--ensemble FILE`): a stored trial's model, a stored ensemble or an ensemble
file as one folder (ONNX, .pt2, state dict, signature.json, predict.py), checked against torch before it appears.
Imports no Qt."""

from __future__ import annotations

import argparse
import json
from typing import Any, Callable

from trainers.spec.errors import ConfigError


def add_parser(sub: Any, add_store_flag: Callable) -> None:
    p = sub.add_parser(
        "export",
        help="write a trial's or an ensemble's model to a folder: ONNX, torch.export .pt2, state dict, "
        "signature.json and predict.py (checked with ONNX Runtime)",
    )
    p.add_argument(
        "trial_id", type=int, nargs="?", metavar="TRIAL_ID", help="the trial's id, as `tunelab history` shows it"
    )
    p.add_argument("--ensemble", metavar="FILE", help="export this ensemble file (.tlens) instead of a stored trial")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="the folder to create (new or empty)")
    add_store_flag(p)
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")


def run(args: argparse.Namespace) -> int:
    if (args.trial_id is None) == (args.ensemble is None):
        raise ConfigError("TRIAL_ID", args.trial_id, "a trial id or --ensemble FILE (one of them)")
    if args.ensemble is not None:
        from trainers.use.export_ensemble import export_ensemble_file

        result = export_ensemble_file(args.ensemble, args.output)
    else:
        from trainers.api import TrialStore, export_model

        with TrialStore(args.store, read_only=True) as store:
            result = export_model(store, args.trial_id, args.output)
    if args.json:
        print(json.dumps(result.to_json(), allow_nan=False))
    else:
        print(result.summary())
        for name in result.files:
            print(f"  {name}")
    return 0
