"""Several workers on one store, measured side by side in one run (issue 17's "Must show").

    python tests/bench/bench_workers.py [--quick] [--sections store,at_once,parallel,latency] [--no-postgres]

- store: N processes (1, 4, 16) each write tiny synthetic trials (create, one commit per epoch, finish) to one
  store, on SQLite and on a throwaway PostgreSQL server started here (durable settings: fsync on). Each epoch
  "trains" 0.1 s (a wait, as on a GPU host) and hands its row over as training does. Median time the training
  thread spends on each epoch commit, and per trial in the store beyond its training; errors by kind. → target
  ≤ 20 ms per trial, no "database is locked" or "already finished" at 16. Then the stress case: writes back to
  back, each waited for.
- at_once: 16 `tunelab worker` processes started together on a fresh database, one tiny trial each. → 0 failures.
- parallel: the same search of 48 small digits trials (about half a second each) with 2 workers vs 1, one torch
  thread each, from the workers' start (about 5 s of imports each) to the end, and once running; three interleaved
  rounds, medians. Trials per hour of an hour-long search: the measured start-up, then the running rate for the
  rest of the hour. → ≥ 1.8× trials/h.
- latency: the window used on a store of 300 trials where every SQL statement waits 50 ms; the event loop's p99
  lateness. → ≤ 20 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from workersbench import store_load, throughput

SECTIONS = ("store", "at_once", "parallel", "latency")
EPOCHS, TRAIN_S = 5, 0.1  # a tiny trial: five 0.1-s epochs


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="a short smoke run: fewer trials and rounds")
    p.add_argument("--sections", default=",".join(SECTIONS))
    p.add_argument("--no-postgres", action="store_true", help="SQLite only")
    return p.parse_args()


def postgres() -> object | None:
    """A throwaway PostgreSQL server with durable settings, or None where its binaries are missing."""
    import pg_server

    pg_server.SERVER_SETTINGS = ("max_connections=100",)  # durable: fsync and synchronous commit on
    try:
        cluster = pg_server.PgCluster()
    except pg_server.PostgresMissing as exc:
        print(f"  PostgreSQL: not measured ({exc})")
        return None
    cluster.start()
    return cluster


def backends(tmp: Path, cluster: object | None) -> dict[str, object]:
    """name → a function giving a fresh store URL."""
    count = iter(range(10_000))
    found: dict[str, object] = {"sqlite": lambda: f"sqlite:///{tmp}/store{next(count)}/trials.db"}
    if cluster is not None:
        found["postgresql"] = cluster.new_database  # type: ignore[attr-defined]
    return found


def store_section(urls: dict[str, object], quick: bool) -> None:
    trials = 3 if quick else 10
    print(f"store overhead per epoch commit and per trial ({EPOCHS} epochs a trial, {TRAIN_S:g} s of training each):")
    for workers in (1, 4, 16):
        for name, fresh in urls.items():
            load = store_load.concurrent_load(_fresh(name, fresh), workers, trials, EPOCHS, TRAIN_S)
            print(store_load.line(name, workers, load))
    print("stress: the same writes back to back, each waited for, no training between them:")
    for workers in (1, 4, 16):
        for name, fresh in urls.items():
            load = store_load.concurrent_load(_fresh(name, fresh), workers, trials, EPOCHS, 0.0)
            print(store_load.line(name, workers, load))


def _fresh(name: str, fresh: object) -> str:
    url = fresh()  # type: ignore[operator]
    if name == "sqlite":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return url


def at_once_section(urls: dict[str, object], quick: bool) -> None:
    for name, fresh in urls.items():
        url = _fresh(name, fresh)
        print(f"{name}:", end="")
        throughput.workers_at_once(url, 4 if quick else 16)


def parallel_section(urls: dict[str, object], quick: bool) -> None:
    """Rounds of 1 worker then 2, interleaved so a change in the machine's load falls on both; medians."""
    ratios: dict[str, list[float]] = {"start": [], "running": [], "hour": []}
    trials = 8 if quick else 48
    for round_ in range(1 if quick else 3):
        rates = {}
        for workers in (1, 2):
            url = _fresh("sqlite", urls["sqlite"])
            rates[workers] = throughput.trials_per_hour(url, workers, trials=trials, epochs=10)
        ratios["start"].append(rates[2][0] / rates[1][0])
        ratios["running"].append(rates[2][1] / rates[1][1])
        ratios["hour"].append(throughput.hour_long_ratio(rates[2][1:], rates[1][1:]))
        print(
            f"  round {round_ + 1}: 1 worker {rates[1][0]:.0f} trials/h ({rates[1][1]:.0f} once running, start-up "
            f"{rates[1][2]:.1f} s), 2 workers {rates[2][0]:.0f} ({rates[2][1]:.0f}, {rates[2][2]:.1f} s): "
            f"{ratios['start'][-1]:.2f}× ({ratios['running'][-1]:.2f}× once running, {ratios['hour'][-1]:.2f}× over "
            "an hour)"
        )
    med = statistics.median
    print(
        f"parallel, 2 workers vs 1 (one thread each): {med(ratios['hour']):.2f}× trials per hour over an hour-long "
        f"search (target ≥ 1.8×); this {trials}-trial search: {med(ratios['start']):.2f}× start-up included, "
        f"{med(ratios['running']):.2f}× once running"
    )


def latency_section(tmp: Path) -> None:
    from workersbench import latency

    url = f"sqlite:///{tmp}/latency/trials.db"
    Path(tmp / "latency").mkdir()
    store_load.concurrent_load(url, 1, trials=300, epochs=5)  # a store with some history to show
    for delay in (0.0, 50.0):
        p50, p99, ticks = latency.event_loop_lateness(url, delay)
        print(f"  {delay:.0f} ms per statement: event-loop lateness p50 {p50:.1f} ms, p99 {p99:.1f} ms ({ticks} ticks)")
    print("window event-loop p99 with 50 ms database latency: the last line above (target ≤ 20 ms)")


def main() -> None:
    args = parse()
    chosen = args.sections.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        cluster = None if args.no_postgres or not {"store", "at_once"} & set(chosen) else postgres()
        try:
            urls = backends(Path(tmp), cluster)
            if "store" in chosen:
                store_section(urls, args.quick)
            if "at_once" in chosen:
                at_once_section(urls, args.quick)
            if "parallel" in chosen:
                parallel_section(urls, args.quick)
            if "latency" in chosen:
                latency_section(Path(tmp))
        finally:
            if cluster is not None:
                cluster.destroy()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
