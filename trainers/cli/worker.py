"""`tunelab worker`: run trials of a stored search until its budget is spent — the one way trials run in parallel
(the searching process starts these as children; on other hosts they are started by hand against a shared store).

Everything comes from the study's storage: the space, the settings, the base config and the store. The sampler is
seeded with the search's seed plus --worker-index. The first SIGTERM or Ctrl+C lets the current epoch finish and
ends the trial as stopped; a second stops after the current batch."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from typing import Any

GRACE_S = 30  # trainers.search.storage.GRACE_S, spelled out so `--help` loads no engine


def add_parser(sub: Any) -> None:
    p = sub.add_parser("worker", help="run trials of a search stored in an Optuna storage (parallel trials)")
    p.add_argument(
        "--storage",
        required=True,
        help="the search's Optuna storage: a journal file or a database URL (as `tunelab search --json` prints)",
    )
    p.add_argument("--study", required=True, help="the search's study name, e.g. search-12")
    p.add_argument(
        "--worker-index", type=int, default=0, help="this worker's number: its sampler's seed is offset by it"
    )
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads per trial (default: the config's train.threads, else this machine's cores ÷ the "
        "search's workers)",
    )
    p.add_argument(
        "--grace",
        type=float,
        default=GRACE_S,
        help=f"seconds without a heartbeat before another worker's running trial counts as dead (default {GRACE_S})",
    )
    p.add_argument("--quiet", action="store_true", help="no progress output")


def _check(args: argparse.Namespace) -> None:
    from trainers.spec.errors import ConfigError

    if args.worker_index < 0:
        raise ConfigError("--worker-index", args.worker_index, "0 or more")
    if args.threads is not None and args.threads < 1:
        raise ConfigError("--threads", args.threads, "1 or more")
    if not args.grace > 0:
        raise ConfigError("--grace", args.grace, "seconds above 0")


def run(args: argparse.Namespace) -> int:
    _check(args)
    import threading

    from trainers.search.study import load_search
    from trainers.spec.events import RunControl

    control, epoch_stop = RunControl(), threading.Event()
    _stop_on_signals(control, epoch_stop)
    search = load_search(args.storage, args.study, args.worker_index, grace_s=args.grace)  # before torch loads

    from trainers.cli.search import SearchProgress
    from trainers.search.objective import TrialRunner
    from trainers.search.search import trial_threads
    from trainers.search.trials_loop import run_trials
    from trainers.store import TrialStore

    threads = args.threads or trial_threads(search.cfg, search.settings.workers)
    with TrialStore(search.store_url or None) as store:
        sink = SearchProgress(sys.stderr, not args.quiet, prefix=f"worker {args.worker_index}: ")
        runner = TrialRunner(search, store, threads, sink, control, epoch_stop, args.grace)
        ran = run_trials(runner)
    stopped = control.stop_requested or epoch_stop.is_set()
    print(json.dumps({"worker_index": args.worker_index, "study": search.name, "trials_run": ran, "threads": threads}))
    return 130 if stopped else 0


def _stop_on_signals(control: Any, epoch_stop: Any) -> None:
    """First signal: finish the current epoch; second: stop after the batch; third: leave at once."""

    def handler(signum: int, frame: object) -> None:
        if control.stop_requested:
            raise KeyboardInterrupt
        if epoch_stop.is_set():
            control.stop()
        else:
            epoch_stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
