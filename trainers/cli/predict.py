"""`tunelab predict`: a stored trial or an ensemble file on a CSV file, an image, or a folder of images. Imports
no Qt; torch loads only once the flags are checked."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable

from trainers.spec.predictions import PredictionTable

SHOWN_ERRORS = 20  # error lines printed before "... and N more"


def add_parser(sub: Any, add_store_flag: Callable) -> None:
    p = sub.add_parser(
        "predict",
        help="predict classes for a CSV file, an image or a folder of images with a trial or an ensemble file",
        description="Raw input is preprocessed as the model's training data was (columns standardised and one-hot "
        "encoded, images decoded, resized when training resized them, and normalised). A row or file that cannot be "
        "used is reported on one line; the others are still predicted (exit code 1 when any failed).",
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--trial", type=int, metavar="ID", help="a stored trial (a training run or an ensemble)")
    which.add_argument("--ensemble", metavar="FILE", help="an ensemble file (.tlens) written by `tunelab ensemble`")
    p.add_argument("--input", required=True, metavar="PATH", help="a CSV file, an image file, or a folder of images")
    p.add_argument("--json", action="store_true", help="print the predictions as one JSON object")
    p.add_argument("-o", "--output", metavar="CSV", help="also write the predictions to this CSV file")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:1 or mps")
    add_store_flag(p)


def run(args: argparse.Namespace) -> int:
    from trainers.api import TrialStore, predict

    if args.trial is not None:
        with TrialStore.open_existing(args.store, read_only=True) as store:
            table = predict(store, args.input, trial_id=args.trial, device=args.device)
    else:
        table = predict(None, args.input, ensemble_file=args.ensemble, device=args.device)
    written = table.write_csv(args.output) if args.output else None
    if args.json:
        data = table.to_json()
        data["written"] = str(written) if written else None
        print(json.dumps(data, indent=1), flush=True)
    else:
        print(render(table) + (f"\nwritten to {written}" if written else ""), flush=True)
    for error in table.errors[:SHOWN_ERRORS]:
        print(f"tunelab: {error}", file=sys.stderr)
    if len(table.errors) > SHOWN_ERRORS:
        print(f"tunelab: ... and {len(table.errors) - SHOWN_ERRORS} more inputs not predicted", file=sys.stderr)
    return 1 if table.errors else 0


def render(table: PredictionTable) -> str:
    """One line per input: id, predicted class, probability, the top three; then the totals."""
    width = max([len(r.id) for r in table.rows] + [2])
    lines = [f"{'id':<{width}}  {'predicted':<16} {'prob':>6}  top 3"]
    for r in table.rows:
        if r.error:
            lines.append(f"{r.id:<{width}}  not predicted: {r.error}")
            continue
        top = ", ".join(f"{c} {p:.3f}" for c, p in r.top)
        lines.append(f"{r.id:<{width}}  {r.label[:16]:<16} {r.probability:6.3f}  {top}")
    summary = f"{table.model}: {table.predicted} of {len(table.rows)} inputs predicted"
    if table.accuracy is not None:
        summary += f", accuracy {table.accuracy:.4f} where the true class is known"
    return "\n".join([*lines, summary])
