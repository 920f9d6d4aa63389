"""Store reads off the GUI thread: the reader answers on the GUI thread, keeps only each consumer's latest
answer and reports errors as one line; History refreshed on a slow database leaves the event loop free."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from generated_trials import fill_store
from history_wait import settled
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFileDialog
from sqlalchemy import Engine, event
from window_helpers import window_on

from app.ensembles.candidates_view import WAITING
from app.history.columns import COLUMN_INDEX
from app.store_reader import StoreReader
from trainers.api import TrialStore
from trainers.spec.errors import StoreError

DELAY_S = 0.05  # added to every SQL statement: a database across a network


@contextmanager
def statements_by_thread(target: Any) -> Iterator[list[bool]]:
    """Per SQL statement `target` (an engine, or Engine for all) runs inside the block: whether on the GUI thread."""
    statements: list[bool] = []

    def note(*_args: Any) -> None:
        statements.append(threading.current_thread() is threading.main_thread())

    event.listen(target, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(target, "before_cursor_execute", note)


def test_answers_arrive_on_the_gui_thread_and_only_the_latest_per_consumer(qtbot) -> None:
    reader = StoreReader()
    threads: list[str] = []
    answers: list[Any] = []
    gate = threading.Event()

    def slow(value: int) -> int:
        threads.append(threading.current_thread().name)
        gate.wait(5)
        return value

    reader.submit("table", lambda: slow(1), answers.append)
    reader.submit("table", lambda: slow(2), answers.append)  # replaces the first before it is answered
    reader.submit("", lambda: 3, answers.append)
    gate.set()
    qtbot.waitUntil(lambda: not reader.busy, timeout=30_000)
    assert answers == [2, 3]
    assert threads and all(name == "tunelab-store-reader" for name in threads)
    reader.stop()


def test_an_error_arrives_as_one_line(qtbot) -> None:
    reader = StoreReader()
    errors: list[str] = []

    def fail() -> None:
        raise StoreError("the database at db.lab:5432 is unreachable\nsecond line")

    reader.submit("x", fail, lambda _r: errors.append("returned"), errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=30_000)
    assert errors == ["the database at db.lab:5432 is unreachable"]
    reader.stop()


def test_history_refresh_on_a_slow_store_leaves_the_event_loop_running(qtbot, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'slow.db'}"
    with TrialStore(url) as store:
        fill_store(store, 250, with_epochs=0)
    with window_on(qtbot, url, "history") as w:
        tab, model = w.history, w.history.model
        tab.filters.choose("dataset", None)
        qtbot.waitUntil(lambda: not model.loading and model.rowCount() == 250, timeout=10000)
        on_gui_thread: list[str] = []

        def slow(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if threading.current_thread() is threading.main_thread():
                on_gui_thread.append(statement.split()[0])
            time.sleep(DELAY_S)

        engine = tab.source.store._engine
        event.listen(engine, "before_cursor_execute", slow)
        ticks: list[int] = []
        timer = QTimer()
        timer.setInterval(10)
        timer.timeout.connect(lambda: ticks.append(1))
        timer.start()
        ticks_when_loaded: list[int] = []
        model.loaded.connect(lambda: ticks_when_loaded.append(len(ticks)))
        try:
            tab.refresh(choices=True)
            assert model.loading  # refresh returned before the store answered
            qtbot.waitUntil(lambda: bool(ticks_when_loaded), timeout=20000)
            # two statements at least (count, first page) took ≥ 100 ms: the 10 ms timer kept firing meanwhile
            assert ticks_when_loaded[0] >= 3
            assert model.rowCount() == 250
            first = model.index(0, COLUMN_INDEX["id"])
            assert model.data(first) not in (None, "…")
            tab.table.scrollToBottom()  # a page not read yet: "…" until it arrives
            last = model.index(249, COLUMN_INDEX["id"])
            qtbot.waitUntil(lambda: model.data(last) != "…", timeout=20000)
            qtbot.waitUntil(lambda: not tab._reader.busy, timeout=20000)
        finally:
            timer.stop()
            event.remove(engine, "before_cursor_execute", slow)
        assert on_gui_thread == []  # not one statement of the refresh, its choices or the scroll


def test_the_job_tabs_list_their_earlier_jobs_and_candidates_off_the_gui_thread(qtbot, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lists.db'}"
    with TrialStore(url) as store:
        fill_store(store, 5, with_epochs=0)
    with window_on(qtbot, url, "ensembles") as w:
        w.ensembles.candidates.show_waiting()
        with statements_by_thread(Engine) as statements:  # every engine: each list opens its own store
            for tab in (w.lr_finder, w.ensembles, w.search):
                tab.refresh_earlier()
            w.ensembles.refresh_candidates()
            w.predict.refresh_models()  # the Predict tab's list of stored models
            for tab in (w.lr_finder, w.ensembles, w.search, w.predict):
                settled(tab)
        assert statements and not any(statements)  # read, and not one statement on the GUI thread
        assert w.ensembles.candidates.status.text() not in ("", WAITING)  # the store's answer arrived


@pytest.mark.slow
def test_history_exports_and_selecting_a_trial_by_id_read_nothing_on_the_gui_thread(
    qtbot, tmp_path: Path, monkeypatch
) -> None:
    url = f"sqlite:///{tmp_path / 'clicks.db'}"
    with TrialStore(url) as store:
        fill_store(store, 250, with_epochs=3)
    with window_on(qtbot, url, "history") as w:
        tab, model = w.history, w.history.model
        tab.filters.choose("dataset", None)
        qtbot.waitUntil(lambda: not model.loading and model.rowCount() == 250, timeout=10000)
        far = 249  # a row on a page not read yet (only the first is read with the count)
        assert not model.is_cached(far)
        target = tmp_path / "out.csv"
        monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
        with statements_by_thread(tab.source.store._engine) as statements:
            tab.select_ids([1, 2])  # on the first page, which the load read
            tab.actions.export_csv.trigger()
            qtbot.waitUntil(lambda: tab.message.text().startswith("Exported"), timeout=20000)
            tab.select_ids([9999], {9999: far})  # not on a cached page: not looked for on the GUI thread
            settled(tab)
        assert target.is_file() and statements and not any(statements)
