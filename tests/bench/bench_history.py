"""The History tab on a store of 100 trials against one of 10,000, side by side in one run.

    python tests/bench/bench_history.py [--small 100] [--large 10000] [--rounds 7]

Both stores are generated (tests/generated_trials.py: full configs with varied lr, model, optimizer and seeds,
about a third of the configs run with several seeds, realistic summary columns) and written in bulk. For each
store, each round builds a fresh main window (the engine already imported, as after start-up), shows the History
tab, and times from asking it to load (engine_ready: open the store, count, filter choices) until the view has
finished painting the first rows (their page was read during that paint). The Robust column (mean ± std over
seeds, which groups every trial) is filled one event-loop turn later; that time is printed too. Prints medians:

  * `time-to-first-rows: 100 trials X ms, 10,000 trials Y ms, ratio Y/X (target <= 2)`, then the same with the
    Robust column filled
  * `sort on 10,000: Z ms`: setting the "Best val acc" header's sort (descending) until the first rows are painted
  * `filter on 10,000: W ms`: choosing model = cnn in the filter bar, the same way
  * where the time goes: the store's count and first page on their own (no Qt), for both sizes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from importlib import import_module
from pathlib import Path
from typing import Callable

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from generated_trials import fill_store  # noqa: E402
from PySide6.QtCore import QEvent, QObject, QTimer  # noqa: E402


def make_store(folder: Path, n: int) -> str:
    from trainers.api import TrialStore

    url = f"sqlite:///{folder / f'trials-{n}.db'}"
    with TrialStore(url) as store:
        fill_store(store, n)
    return url


class PaintWatch(QObject):
    """Notes when the table's viewport has finished a paint that drew row 0 (its page was read during it).

    A zero-time timer started as the paint begins fires once that paint is done, before the timers the paint
    itself started (the model fills the Robust column on one, after the first rows). A QTimer object, since
    the static singleShot(0) is a posted call, which Qt runs after pending timers."""

    def __init__(self, window) -> None:
        super().__init__()
        self.model = window.history.model
        self.painted_at: float | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._after_paint)
        window.history.table.viewport().installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Paint and self.painted_at is None and self.model.rowCount() > 0:
            self._timer.start()
        return False

    def _after_paint(self) -> None:
        if self.painted_at is None and self.model.is_cached(0):
            self.painted_at = time.perf_counter()


def timed(app, window, action: Callable[[], None]) -> tuple[float, float]:
    """(ms until the first rows are painted, ms until the Robust column is filled too) after `action`."""
    watch = PaintWatch(window)
    model = window.history.model
    t0 = time.perf_counter()
    action()
    deadline = t0 + 30
    while watch.painted_at is None or not model.robust_known:
        app.processEvents()
        if time.perf_counter() > deadline:
            raise TimeoutError("the first rows never appeared")
    done = time.perf_counter()
    window.history.table.viewport().removeEventFilter(watch)
    return (watch.painted_at - t0) * 1000, (done - t0) * 1000


def open_window(app, url: str):
    from app.main_window import MainWindow

    window = MainWindow(store_url=url)
    window.show()
    window.tabs.setCurrentWidget(window.history)
    app.processEvents()
    return window


def first_rows_ms(app, url: str) -> tuple[float, float]:
    window = open_window(app, url)
    try:
        return timed(app, window, window.history.set_engine_ready)
    finally:
        window.close()
        window.deleteLater()
        app.processEvents()


def sort_and_filter_ms(app, url: str) -> tuple[tuple[float, float], tuple[float, float]]:
    from PySide6.QtCore import Qt

    from app.history.columns import COLUMN_INDEX

    window = open_window(app, url)
    try:
        tab = window.history
        timed(app, window, tab.set_engine_ready)
        header = tab.table.horizontalHeader()
        sort = timed(
            app, window, lambda: header.setSortIndicator(COLUMN_INDEX["best_val_acc"], Qt.SortOrder.DescendingOrder)
        )
        assert tab.model.parts.sort == "best_val_acc" and tab.model.parts.descending
        filt = timed(app, window, lambda: tab.filters.choose("model", "cnn"))
        assert ("model", "cnn") in tab.model.parts.filters
        return sort, filt
    finally:
        window.close()
        window.deleteLater()
        app.processEvents()


def store_side_ms(url: str) -> tuple[float, float]:
    """The store's share of a first load, no Qt: (count + first page, the robust table)."""
    from app.history.trial_model import PAGE_SIZE
    from app.history.trial_source import QueryParts, TrialSource

    source = TrialSource(url)
    try:
        pages, robust = [], []
        for _ in range(7):
            t0 = time.perf_counter()
            q = source.query(QueryParts())
            source.count(q)
            source.page(q, 0, PAGE_SIZE, {})
            t1 = time.perf_counter()
            source.robust_table(q)
            pages.append((t1 - t0) * 1000)
            robust.append((time.perf_counter() - t1) * 1000)
        return statistics.median(pages), statistics.median(robust)
    finally:
        source.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    import_module("trainers.api")  # the engine is loaded before the tab reads the store, as in the app
    from app.launch import make_application

    app = make_application()
    with tempfile.TemporaryDirectory() as tmp:
        small, large = make_store(Path(tmp), args.small), make_store(Path(tmp), args.large)
        first_rows_ms(app, small)  # warm-up: Qt's first table, fonts, SQLAlchemy statement caches
        first_rows_ms(app, large)
        times: dict[str, list[tuple[float, float]]] = {small: [], large: []}
        for i in range(args.rounds):
            for url in (small, large) if i % 2 == 0 else (large, small):  # neither size always goes first
                times[url].append(first_rows_ms(app, url))
        sorts, filters = zip(*(sort_and_filter_ms(app, large) for _ in range(args.rounds)))

        def med(pairs, i: int) -> float:
            return statistics.median(p[i] for p in pairs)

        x, y = med(times[small], 0), med(times[large], 0)
        print(
            f"time-to-first-rows: {args.small:,} trials {x:.1f} ms, {args.large:,} trials {y:.1f} ms, "
            f"ratio {y / x:.2f} (target <= 2)"
        )
        xr, yr = med(times[small], 1), med(times[large], 1)
        print(
            f"  with the Robust column filled too: {args.small:,} trials {xr:.1f} ms, {args.large:,} trials "
            f"{yr:.1f} ms, ratio {yr / xr:.2f}"
        )
        print(f"sort on {args.large:,}: {med(sorts, 0):.1f} ms (Robust column filled: {med(sorts, 1):.1f} ms)")
        print(f"filter on {args.large:,}: {med(filters, 0):.1f} ms (Robust column filled: {med(filters, 1):.1f} ms)")
        for n, url in ((args.small, small), (args.large, large)):
            page, robust = store_side_ms(url)
            print(f"store side, {n:,} trials (no Qt): count + first page {page:.1f} ms, robust table {robust:.1f} ms")


if __name__ == "__main__":
    main()
