"""`tunelab worker`: run trials of a stored search until its budget is spent — the one way trials run in parallel
(the searching process starts these as children; on other hosts they are started by hand against a shared store).

Everything comes from the study's storage: the space, the settings, the base config and the store. The sampler is
seeded with the search's seed plus --worker-index. The first SIGTERM or Ctrl+C lets the current epoch finish and
ends the trial as stopped; a second stops after the current batch."""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
from typing import Any

from trainers.search.pause_signals import pause_on_signals

GRACE_S = 30  # trainers.search.storage.GRACE_S, spelled out so `--help` loads no engine


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "worker", help="run trials of a stored search (parallel trials) or single runs queued in the store"
    )
    p.add_argument(
        "--storage",
        default=None,
        help="the search's Optuna storage: a journal file or a database URL (as `tunelab search --json` prints)",
    )
    p.add_argument("--study", default=None, help="the search's study name, e.g. search-12")
    p.add_argument(
        "--store",
        default=None,
        help="the trial store (SQLAlchemy URL or SQLite file; default $TUNELAB_STORE), with --search or --queue",
    )
    p.add_argument("--search", type=int, default=None, metavar="ID", help="run trials of the stored search ID")
    p.add_argument(
        "--queue", action="store_true", help="train the single runs queued in the store (`tunelab train --queue`)"
    )
    p.add_argument(
        "--gpus", choices=["all"], default=None, help="all: start one worker per CUDA device (each with --device)"
    )
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
    p.add_argument(
        "--device",
        default=None,
        help="run every trial on this device, whatever the config says: cpu, mps, cuda or cuda:N (one worker per "
        "GPU, no CUDA_VISIBLE_DEVICES needed); stored with each trial and shown in History",
    )
    p.add_argument("--max-trials", type=int, default=None, help="end after running this many trials")
    p.add_argument(
        "--idle-exit",
        type=float,
        default=None,
        metavar="S",
        help="end after finding nothing to start for S seconds (the rest of the budget is run by other workers)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress output")


def _check(args: argparse.Namespace) -> None:
    from trainers.spec.errors import ConfigError, TuneLabError

    if args.worker_index < 0:
        raise ConfigError("--worker-index", args.worker_index, "0 or more")
    if args.threads is not None and args.threads < 1:
        raise ConfigError("--threads", args.threads, "1 or more")
    if not args.grace > 0:
        raise ConfigError("--grace", args.grace, "seconds above 0")
    if args.max_trials is not None and args.max_trials < 1:
        raise ConfigError("--max-trials", args.max_trials, "1 or more")
    if args.idle_exit is not None and not args.idle_exit >= 0:
        raise ConfigError("--idle-exit", args.idle_exit, "seconds, 0 or more")
    modes = [args.storage is not None or args.study is not None, args.search is not None, args.queue]
    if sum(modes) != 1:
        raise TuneLabError("tunelab worker needs exactly one of: --storage with --study, --search ID, --queue")
    if modes[0] and (args.storage is None or args.study is None or args.store is not None):
        raise TuneLabError("tunelab worker: --storage and --study go together, without --store (use --search ID)")
    if args.device is not None and not re.fullmatch(r"cpu|mps|cuda(:\d+)?", args.device):
        raise ConfigError("--device", args.device, "cpu, mps, cuda or cuda:N (N: the GPU's index, from 0)")


def run(args: argparse.Namespace) -> int:
    _check(args)
    if args.gpus:
        from trainers.cli.worker_gpus import run_per_device

        return run_per_device(getattr(args, "argv", None) or sys.argv[1:], args.worker_index)
    if args.queue:
        return _run_queue(args)
    if args.search is not None:
        _resolve_search(args)
    import threading

    from trainers.search.study import load_search
    from trainers.spec.events import RunControl

    control, epoch_stop = RunControl(), threading.Event()
    _stop_on_signals(control, epoch_stop)
    search = load_search(args.storage, args.study, args.worker_index, grace_s=args.grace)  # before torch loads

    from trainers.cli.search import SearchProgress
    from trainers.jobs.device import device_label, pin_device
    from trainers.search.objective import TrialRunner
    from trainers.search.search import trial_threads
    from trainers.search.trials_loop import run_trials
    from trainers.store import TrialStore

    threads = args.threads or trial_threads(search.cfg, search.settings.workers)
    device = device_label(pin_device(args.device)) if args.device else None
    # the study names its store (no typo to catch), and workers started together on a fresh database create it
    with TrialStore(search.store_url or None) as store:
        if store.artifact_policy.problem:  # one line, even with --quiet: this host's files may not reach the others
            print(f"worker {args.worker_index}: {store.artifact_policy.problem}", file=sys.stderr)
        sink = SearchProgress(sys.stderr, not args.quiet, prefix=f"worker {args.worker_index}: ")
        runner = TrialRunner(search, store, threads, sink, control, epoch_stop, args.grace)
        runner.max_trials, runner.idle_exit_s = args.max_trials, args.idle_exit
        ran = run_trials(runner)
    stopped = control.stop_requested or epoch_stop.is_set()
    summary = {"worker_index": args.worker_index, "study": search.name, "trials_run": ran, "threads": threads}
    print(json.dumps({**summary, "device": device}))
    return 130 if stopped else 0


def _existing_store(url: str | None) -> Any:
    """The store a queue worker takes its runs from. It never creates one: a mistyped --store would otherwise give
    a new, empty store that the worker waits on for ever."""
    from trainers.spec.errors import StoreMissing
    from trainers.store import TrialStore

    try:
        return TrialStore.open_existing(url)
    except StoreMissing as exc:
        raise StoreMissing(
            f"{exc}: a worker trains what an existing store holds (check --store or $TUNELAB_STORE)"
        ) from None


def _resolve_search(args: argparse.Namespace) -> None:
    """--search ID: the stored search's Optuna storage and study, read from the store."""
    from trainers.search.stored import search_study_location
    from trainers.store import TrialStore

    with TrialStore.open_existing(args.store, read_only=True) as store:
        args.storage, args.study = search_study_location(store, args.search)


def _run_queue(args: argparse.Namespace) -> int:
    """--queue: train queued single runs, each as its own queued trial, until --max-trials or --idle-exit."""
    from trainers.spec.events import RunControl

    control = RunControl()
    signal.signal(signal.SIGINT, lambda signum, frame: _stop_twice(control))
    signal.signal(signal.SIGTERM, lambda signum, frame: _stop_twice(control))

    from trainers.cli.progress import ProgressSink
    from trainers.jobs.device import device_label, pin_device
    from trainers.training.queued_runs import QueueLimits, run_queue

    device = device_label(pin_device(args.device)) if args.device else None
    prefix = f"worker {args.worker_index}: "

    def said(trial_id: int, result: Any) -> None:
        status = result.status if result is not None else "failed"
        print(f"{prefix}trial {trial_id} {status}", file=sys.stderr, flush=True)

    with _existing_store(args.store) as store:
        if store.artifact_policy.problem:
            print(prefix + store.artifact_policy.problem, file=sys.stderr)
        sink = ProgressSink(sys.stderr, enabled=not args.quiet)
        ran = run_queue(store, QueueLimits(args.max_trials, args.idle_exit), control, sink, said)
    summary = {"worker_index": args.worker_index, "queue": True, "trials_run": ran, "device": device}
    print(json.dumps(summary), flush=True)
    return 130 if control.stop_requested else 0


def _stop_twice(control: Any) -> None:
    """First signal: the current run stops after its batch (kept as stopped) and no other is taken; second: leave."""
    if control.stop_requested:
        raise KeyboardInterrupt
    control.stop()


def _stop_on_signals(control: Any, epoch_stop: Any) -> None:
    """First signal: finish the current epoch; second: stop after the batch; third: leave at once."""

    def handler(signum: int, frame: object) -> None:
        if control.stop_requested:
            raise KeyboardInterrupt
        if epoch_stop.is_set():
            control.stop()
        else:
            epoch_stop.set()
            control.resume()  # a paused worker finishes its epoch too

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    pause_on_signals(control)  # the searching process pauses its workers
