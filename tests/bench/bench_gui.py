"""The window against the headless engine, measured side by side in one run.

    python tests/bench/bench_gui.py [--rows 60000] [--epochs 2] [--rounds 3] [--threads 0]

Prints three figures:
  * `gui/headless throughput ratio` — training samples per second with the main window showing live plots,
    divided by the same config trained headless through trainers.api (target >= 0.90). The data are
    MNIST-format IDX files written to a temporary folder and read by the real loader.
  * `gui event-loop latency p99` — while the window trains at full speed, a 5 ms precise timer on the GUI
    thread records how late each tick fires (target <= 20 ms).
  * `launch-to-window / import-torch ratio` — a fresh process from start to the main window shown, against a
    fresh process that only runs `import torch` (target <= 0.6).
Rounds alternate the order (headless first, then window first) so warm-up favours neither.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from idx_files import write_idx  # noqa: E402

PROBE_MS = 5

_SHOW_WINDOW = """
import sys, time
from app.launch import make_application
from app.main_window import MainWindow
app = make_application()
w = MainWindow()
w.show()
app.processEvents()
print(time.time(), w.isVisible(), 'torch' in sys.modules)
"""


def bench_config(root: Path, epochs: int, threads: int):
    from trainers.spec.config import RunConfig

    return RunConfig().replace(
        **{
            "data.source": "mnist",
            "data.path": str(root),
            "model.family": "mlp",
            "train.batch_size": 128,
            "train.epochs": epochs,
            "train.threads": threads,
            "train.device": "cpu",
            "train.checkpoints": False,
        }
    )


def samples_per_sec(events: list) -> float:
    """Training samples per second over the run's epochs (validation and loading excluded)."""
    from trainers.spec.events import BatchEnded, EpochEnded

    samples = sum(e.samples for e in events if isinstance(e, BatchEnded))
    seconds = sum(e.seconds for e in events if isinstance(e, EpochEnded))
    return samples / seconds


def headless(cfg, db: Path) -> float:
    """The engine alone, in a fresh process as the CLI runs it (torch then owns the main thread's cores,
    and this process never trains on its own main thread, which would leave a second OpenMP team behind)."""
    from trainers.spec.config import config_to_toml

    cfg_file = db.with_suffix(".toml")
    cfg_file.write_text(config_to_toml(cfg))
    out = subprocess.run(
        [sys.executable, __file__, "--headless-child", str(cfg_file), str(db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.split()[-1])


def headless_child(cfg_file: str, db: str) -> None:
    from trainers.api import run_training
    from trainers.spec.config import load_config
    from trainers.spec.events import ListSink
    from trainers.store import TrialStore

    sink = ListSink()
    with TrialStore(db) as store:
        result = run_training(load_config(cfg_file), sink=sink, store=store)
    assert result.status == "completed", result.message
    print(samples_per_sec(sink.events))


def in_window(window, cfg, probe_latency: bool) -> tuple[float, list[float]]:
    """Train through the window; returns samples/s and, when probing, the GUI timer's lateness in ms
    during training (the probe wakes the GUI thread 200 times a second, so throughput rounds run without it)."""
    from PySide6.QtCore import QEventLoop, Qt, QTimer

    from trainers.spec.events import FitStarted

    events: list = []
    late: list[float] = []
    state = {"last": None}

    def tick() -> None:
        now = time.perf_counter()
        if state["last"] is not None:
            late.append(max(0.0, (now - state["last"]) * 1000 - PROBE_MS))
        state["last"] = now

    probe = QTimer()
    probe.setTimerType(Qt.PreciseTimer)
    probe.setInterval(PROBE_MS)
    probe.timeout.connect(tick)

    def on_events(batch: list) -> None:
        events.extend(batch)
        if probe_latency and not probe.isActive() and any(isinstance(e, FitStarted) for e in batch):
            probe.start()  # measure while training runs, not while the data loads

    window.training.events_received.connect(on_events)
    window.training.form.set_config(cfg)
    loop = QEventLoop()
    window.training.run_finished.connect(loop.quit)
    assert window.training.start(), window.training.form.first_error()
    loop.exec()
    probe.stop()
    window.training.events_received.disconnect(on_events)
    window.training.run_finished.disconnect(loop.quit)
    outcome = window.training.last_outcome
    assert outcome.result is not None and outcome.result.status == "completed", outcome
    return samples_per_sec(events), late


def launch_times(rounds: int) -> tuple[float, float, bool]:
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    window_s, torch_s, torch_loaded = [], [], False
    for _ in range(rounds):
        t0 = time.time()
        out = subprocess.run(
            [sys.executable, "-c", _SHOW_WINDOW], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        )
        shown_at, visible, had_torch = out.stdout.split()
        assert visible == "True", out.stderr
        torch_loaded |= had_torch == "True"
        window_s.append(float(shown_at) - t0)
        t0 = time.time()
        out = subprocess.run(
            [sys.executable, "-c", "import time, torch; print(time.time())"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        torch_s.append(float(out.stdout) - t0)
    return statistics.median(window_s), statistics.median(torch_s), torch_loaded


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--headless-child":
        headless_child(sys.argv[2], sys.argv[3])
        return 0
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=60_000, help="training images in the synthetic MNIST files")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="train.threads for both sides (0: automatic)")
    args = ap.parse_args()

    from app.jobs import warm_up_engine
    from app.launch import make_application
    from app.main_window import MainWindow

    app = make_application()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["TUNELAB_DATA_DIR"] = tmp
        write_idx(root / "MNIST" / "raw", n_train=args.rows, n_test=args.rows // 6, classes=10)
        cfg = bench_config(root, args.epochs, args.threads)
        warm_up_engine()
        window = MainWindow(store_url=str(root / "gui.db"))
        window.resize(1360, 860)
        window.show()
        window.engine_ready()
        app.processEvents()
        ratios = []
        for r in range(args.rounds):
            if r % 2 == 0:
                h = headless(cfg, root / "headless.db")
                g, _ = in_window(window, cfg, probe_latency=False)
            else:
                g, _ = in_window(window, cfg, probe_latency=False)
                h = headless(cfg, root / "headless.db")
            ratios.append(g / h)
            print(f"round {r + 1}: headless {h:,.0f} samples/s, window {g:,.0f} samples/s, ratio {g / h:.3f}")
        _, late = in_window(window, cfg, probe_latency=True)
        window.close()
    late.sort()
    p99 = late[min(len(late) - 1, int(0.99 * len(late)))]
    p50 = late[len(late) // 2]
    shown, torch_import, torch_loaded = launch_times(args.rounds + 2)
    print(f"gui/headless throughput ratio: {statistics.median(ratios):.3f} (median of {args.rounds}; target >= 0.90)")
    print(
        f"gui event-loop latency p99: {p99:.1f} ms (p50 {p50:.1f} ms, max {late[-1]:.1f} ms, "
        f"{len(late)} ticks of a {PROBE_MS} ms timer; target <= 20 ms)"
    )
    print(
        f"launch-to-window / import-torch ratio: {shown / torch_import:.2f} (window shown after {shown:.2f} s, "
        f"import torch {torch_import:.2f} s{'; torch was loaded before the window showed!' if torch_loaded else ''}"
        f"; target <= 0.6)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
