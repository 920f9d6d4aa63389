"""Headless commands: `tunelab train`, `tunelab lr-find`, `tunelab history`, `tunelab diagnose`,
`tunelab ensemble`, `tunelab search` and `tunelab worker`. Imports no Qt."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from typing import Any, Sequence

from trainers.cli import diagnose as cli_diagnose
from trainers.cli import ensemble as cli_ensemble
from trainers.cli import evaluate as cli_evaluate
from trainers.cli import export as cli_export
from trainers.cli import lr_find as cli_lr_find
from trainers.cli import mlflow_log as cli_mlflow
from trainers.cli import predict as cli_predict
from trainers.cli import report as cli_report
from trainers.cli import search as cli_search
from trainers.cli import tensorboard_export as cli_tensorboard
from trainers.cli import worker as cli_worker
from trainers.cli.config_args import add_config_flags, config_from_args
from trainers.cli.exit_codes import exit_code
from trainers.cli.progress import ProgressSink
from trainers.spec.errors import ConfigError, TuneLabError
from trainers.spec.version import VERSION

# The store's ranking metrics (trainers.store.trial_query.RANK_METRICS), spelled out so `--help` needs no database.
RANK_BY = ("val_acc", "val_loss", "test_acc", "duration")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # one line, like every other refusal; the usage is one --help away
        print(f"tunelab: error: {message} (`{self.prog} --help` lists the options)", file=sys.stderr)
        sys.exit(2)


def _add_store_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store",
        help="SQLAlchemy URL or SQLite file of the trial store (default: $TUNELAB_STORE or the user data directory)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tunelab", description="TuneLab: train, rank and diagnose deep-learning models.")
    parser.add_argument("--version", action="version", version=f"tunelab {VERSION}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    train = sub.add_parser("train", help="train one trial from a config file, a stored trial and/or flags")
    add_config_flags(train)
    _add_store_flag(train)
    train.add_argument("--quiet", action="store_true", help="no progress output, only the final JSON line")
    train.add_argument(
        "--queue",
        action="store_true",
        help="queue the run in the store for `tunelab worker --queue` instead of training here; prints its trial id",
    )
    cli_lr_find.add_parser(sub, add_config_flags, _add_store_flag)
    cli_diagnose.add_parser(sub, _add_store_flag)
    cli_evaluate.add_parser(sub, _add_store_flag)
    cli_ensemble.add_parser(sub, add_config_flags, _add_store_flag)
    cli_search.add_parser(sub, add_config_flags, _add_store_flag)
    cli_worker.add_parser(sub)
    cli_predict.add_parser(sub, _add_store_flag)
    cli_export.add_parser(sub, _add_store_flag)
    cli_report.add_parser(sub, _add_store_flag)
    cli_tensorboard.add_parser(sub, _add_store_flag)
    cli_mlflow.add_parser(sub, _add_store_flag)
    hist = sub.add_parser("history", help="list trials ranked by the kept epoch's validation accuracy (or --rank-by)")
    _add_store_flag(hist)
    hist.add_argument("--json", action="store_true", help="one JSON array of trials")
    hist.add_argument("--limit", type=int, default=None, help="show at most this many trials")
    hist.add_argument("--kind", default=None, help="only trials of this kind (train, lr_test, ensemble, search)")
    hist.add_argument("--status", default=None, help="only trials with this status (e.g. pruned, completed, failed)")
    hist.add_argument(
        "--rank-by", default="val_acc", choices=RANK_BY, help="the metric the rank follows (default val_acc)"
    )
    hist.add_argument(
        "--sort",
        default="rank",
        help="rank, robust, or a column such as lr or duration_s (default rank: best first); --sort=-lr reverses it",
    )
    hist.add_argument("--reverse", action="store_true", help="reverse the sort order")
    hist.add_argument(
        "--filter",
        default="",
        help="column=value pairs (status, kind, dataset, model, optimizer, "
        "diagnosis; commas for several values) and words to find "
        "in names, notes and messages, e.g. 'model=mlp,cnn wider'",
    )
    hist.add_argument(
        "--robust",
        action="store_true",
        help="add mean ± std over the seeds of each config and rank by it (configs run with at least two seeds)",
    )
    return parser


def _train(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)  # a bad flag is refused before torch loads (seconds on a busy machine)

    from trainers.api import run_training
    from trainers.spec.events import RunControl
    from trainers.store import TrialStore

    if args.queue:
        from trainers.api import queue_run

        with TrialStore(args.store) as store:
            print(json.dumps({"trial_id": queue_run(store, cfg), "status": "queued"}), flush=True)
        return 0
    control = RunControl()
    _stop_on_signals(control)
    with TrialStore(args.store) as store:
        sink = ProgressSink(sys.stderr, enabled=not args.quiet)
        result = run_training(cfg, sink=sink, control=control, store=store)
    if result.message and result.status != "completed":
        print(f"tunelab: trial {result.trial_id} {result.status}: {result.message}", file=sys.stderr)
    print(result.to_json(), flush=True)
    return exit_code(result.status)


def _lr_find(args: argparse.Namespace) -> int:
    from trainers.spec.events import RunControl

    cfg = config_from_args(args)
    settings = cli_lr_find.settings_from_args(args)  # a bad setting is reported before any work starts
    control = RunControl()
    _stop_on_signals(control)
    return cli_lr_find.run(args, cfg, control, settings)


def _ensemble(args: argparse.Namespace) -> int:
    from trainers.spec.events import RunControl

    settings = cli_ensemble.settings_from_args(args)
    cfg = config_from_args(args)
    control = RunControl()
    _stop_on_signals(control)
    return cli_ensemble.run(args, cfg, control, settings)


def _search(args: argparse.Namespace) -> int:
    from trainers.spec.events import RunControl

    parsed = cli_search.search_from_args(args)  # a bad flag, space or setting is refused before torch loads
    control = RunControl()
    _stop_on_signals(control)
    return cli_search.run(args, parsed, control)


def _stop_on_signals(control: Any) -> None:
    """First Ctrl+C (or SIGTERM) stops after the current batch and records the trial as stopped."""

    def handler(signum: int, frame: object) -> None:
        if control.stop_requested:
            raise KeyboardInterrupt
        control.stop()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def _history(args: argparse.Namespace) -> int:
    from trainers.store import TrialStore
    from trainers.trials.ranked_rows import build_query, history_rows, render_table

    if args.limit is not None and args.limit < 0:
        raise ConfigError("--limit", args.limit, "0 or more trials")
    sort = ("-" + args.sort.lstrip("-")) if args.reverse != args.sort.startswith("-") else args.sort.lstrip("-")
    filters = f"{args.filter} status={args.status}" if args.status else args.filter
    query = build_query(sort, filters, args.rank_by, args.kind, args.robust)
    with TrialStore(args.store, read_only=True) as store:
        rows = history_rows(store, query, limit=args.limit, robust=args.robust)
    print(json.dumps(rows, indent=1) if args.json else render_table(rows, robust=args.robust))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # `worker --gpus all` starts its children with these
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return {
            "train": _train,
            "lr-find": _lr_find,
            "history": _history,
            "diagnose": cli_diagnose.run,
            "evaluate": cli_evaluate.run,
            "ensemble": _ensemble,
            "search": _search,
            "worker": cli_worker.run,
            "predict": cli_predict.run,
            "export": cli_export.run,
            "report": cli_report.run,
            "tensorboard-export": cli_tensorboard.run,
            "mlflow-log": cli_mlflow.run,
        }[args.command](args)
    except TuneLabError as exc:
        print(f"tunelab: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
