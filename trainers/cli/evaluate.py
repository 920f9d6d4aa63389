"""`tunelab evaluate TRIAL_ID [--split test|val] [--json]`: a stored training run's or ensemble's confusion matrix,
per-class precision, recall and F1, averages, calibration and most confident mistakes. The evaluation is stored
with the trial, where History's Evaluation view finds it. Imports no Qt."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # the engine (torch) loads only when the command runs
    from trainers.evaluation.evaluation import Evaluation

MATRIX_UP_TO = 20  # classes; a larger confusion matrix is left to --json and the window


def add_parser(sub: Any, add_store_flag: Callable) -> None:
    p = sub.add_parser(
        "evaluate", help="per-class metrics, confusion matrix, calibration and worst mistakes of a stored trial"
    )
    p.add_argument("trial_id", type=int, metavar="TRIAL_ID", help="a training run's or ensemble's id (tunelab history)")
    p.add_argument("--split", choices=("test", "val"), default="test", help="the split to evaluate on (default test)")
    add_store_flag(p)
    p.add_argument("--json", action="store_true", help="print the evaluation as one JSON object")


def run(args: argparse.Namespace) -> int:
    from trainers.api import TrialStore, evaluate_trial

    with TrialStore(args.store, must_exist=True) as store:
        ev = evaluate_trial(store, args.trial_id, args.split)
    print(json.dumps(ev.to_dict(), allow_nan=False) if args.json else report(ev))
    return 0


def _row(name: str, p: float, r: float, f1: float, support: int | str, width: int) -> str:
    return f"{name:<{width}}  {p:>9.4f}  {r:>9.4f}  {f1:>9.4f}  {support!s:>7}"


def report(ev: Evaluation) -> str:
    width = max(12, *(len(n) for n in ev.class_names))
    lines = [f"trial {ev.trial_id} ({ev.kind}) on the {ev.split} split: {ev.samples} samples", ""]
    lines.append(f"{'class':<{width}}  {'precision':>9}  {'recall':>9}  {'f1':>9}  {'support':>7}")
    pc = ev.per_class
    for i, name in enumerate(ev.class_names):
        lines.append(_row(name, pc.precision[i], pc.recall[i], pc.f1[i], int(pc.support[i]), width))
    lines.append("")
    lines.append(f"{'accuracy':<{width}}  {'':>9}  {'':>9}  {ev.accuracy:>9.4f}  {ev.samples:>7}")
    lines.append(_row("macro avg", ev.macro.precision, ev.macro.recall, ev.macro.f1, ev.samples, width))
    lines.append(_row("weighted avg", ev.weighted.precision, ev.weighted.recall, ev.weighted.f1, ev.samples, width))
    bins = len(ev.reliability.counts)
    lines += ["", f"expected calibration error ({bins} equal-width bins): {ev.ece:.4f}"]
    if len(ev.class_names) <= MATRIX_UP_TO:
        lines += ["", "confusion matrix (rows: true class, columns: predicted):", *_matrix(ev)]
    lines += _mistakes(ev)
    lines += [f"note: {n}" for n in ev.notes]
    return "\n".join(lines)


def _matrix(ev: Evaluation) -> list[str]:
    cell = max(5, len(str(int(ev.confusion.max(initial=0)))) + 1, *(len(n) + 1 for n in ev.class_names))
    head = " " * cell + "".join(f"{n[: cell - 1]:>{cell}}" for n in ev.class_names)
    rows = [
        f"{n[: cell - 1]:<{cell}}" + "".join(f"{int(v):>{cell}}" for v in r)
        for n, r in zip(ev.class_names, ev.confusion)
    ]
    return [head, *rows]


def _mistakes(ev: Evaluation) -> list[str]:
    if not ev.mistakes:
        return ["", "no mistakes on this split"]
    out = ["", "most confident mistakes:"]
    for m in ev.mistakes:
        where = f"line {m.line}" if m.line is not None else f"sample {m.index}"
        text = f"  {where}: true {m.true}, predicted {m.predicted} ({m.confidence:.3f})"
        if m.row:
            text += "  " + ", ".join(f"{c}={v}" for c, v in zip(ev.columns, m.row))
        out.append(text)
    return out
