"""The History tab: every trial in the store, ranked; one selected shows its detail, several are compared.

Top: rank-by, filters and search. Middle: the table (a paged model over the store; a header click sorts in the
database). Below: the actions and re-runs, then the selected trial's diagnosis, notes, curves and config, or
the comparison of several. While a job runs the table refreshes about once a second, and the selection
follows its trials wherever the ranking moves them.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QSplitter,
    QStackedWidget,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.history.columns import COLUMNS, METRIC_COLUMNS, METRIC_NAMES
from app.history.compare_pane import MAX_COMPARED, ComparePane
from app.history.detail_pane import TrialDetail
from app.history.filter_bar import CHOICE_COLUMNS, FilterBar
from app.history.model_export import ModelExporter
from app.history.report_writer import ReportWriter
from app.history.rerun_panel import RerunPanel
from app.history.trial_actions import TrialActions
from app.history.trial_model import PAGE_SIZE, TrialTableModel
from app.history.trial_source import TrialSource
from app.history.trial_text import id_list, rerun_summary
from app.job_runner import JobRunner
from app.queue_for_workers import WORKER_HINT
from app.store_reader import StoreReader
from app.training.run_panel import show_message
from app.worker import JobOutcome, one_line
from trainers.spec.events import EpochEnded, FitEnded, FitStarted

LIVE_REFRESH_MS = 1000  # at most one table refresh a second while a run reports epochs
MAX_FOLLOWED = 50  # selected trials looked for again after a refresh
HINT = "Select a trial to see its diagnosis, notes, curves and config; select several to compare them."
NOT_LOADED = "The trial history appears once the training engine has loaded…"
LOADING = "Loading the trials…"


CONFIRMATION_MS = 8000  # how long a confirmation line stays


class HistoryTab(QWidget):
    run_started = Signal()  # a re-run began
    run_finished = Signal(object)  # JobOutcome of the re-run
    events_received = Signal(object)  # the re-run's engine events

    def __init__(self, runner: JobRunner, store_url: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store_url = store_url
        self.source: TrialSource | None = None
        self._stale = False  # a refresh was skipped while the tab was hidden
        self._restoring = False  # selection changes made by a refresh are not the user's
        self._last_refresh = 0.0
        self._shown: tuple[list[int], str] = ([], "")  # trial ids and metric on show
        self._shown_running = False  # a trial on show was running: the next refresh redraws it
        self._detail_trial: Any = None
        self._reader: StoreReader | None = None  # the tab's store reads run on its thread
        self._follow: dict[int, int] | None = None  # trial id -> row selected before the load under way
        self._opening: int | None = None  # a trial whose Evaluation view shows once the load arrives

        self.filters = FilterBar()
        self.model = TrialTableModel(self)
        self.table = QTableView()
        self.actions = TrialActions(self, self.selected_trials, lambda: self.source, lambda: self.reader)
        self.rerun = RerunPanel(runner, store_url)
        self.exporter = ModelExporter(runner, store_url, self)  # the Export model button's job
        self.reporter = ReportWriter(runner, store_url, self)  # the Report button's job
        self.message = QLabel(NOT_LOADED)
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # a confirmation ("Deleted trial 3") clears after a while; warnings and errors stay until replaced
        self._confirmation = ""
        self._clear_timer = QTimer(self)
        self._clear_timer.setSingleShot(True)
        self._clear_timer.setInterval(CONFIRMATION_MS)
        self._clear_timer.timeout.connect(self._clear_confirmation)
        self.hint = QLabel(HINT)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # the detail and compare panes hold five plots: built when first needed, not with the window
        self._detail: TrialDetail | None = None
        self._compare: ComparePane | None = None
        self.stack = QStackedWidget()
        self.stack.addWidget(self.hint)
        self._set_up_table()
        self._lay_out()

        self._live_timer = QTimer(self)
        self._live_timer.setSingleShot(True)
        self._live_timer.timeout.connect(self.refresh)
        self.filters.changed.connect(lambda: self._requery(self.filters.apply_to(self.model.parts)))
        self.model.failed.connect(lambda text: self.show_message(text, "error"))
        self.model.loaded.connect(self._after_load)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._on_selection_changed())
        self.actions.message.connect(self.show_message)
        self.actions.trials_deleted.connect(lambda _ids: self.refresh(choices=True))
        self.actions.model_export_requested.connect(self.exporter.start)
        self.exporter.message.connect(self.show_message)
        self.actions.report_requested.connect(self.reporter.start)
        self.reporter.message.connect(self.show_message)
        self.rerun.rerun_clicked.connect(self.rerun_selected)
        self.rerun.events_received.connect(self.events_received)
        self.rerun.run_started.connect(self.run_started)
        self.rerun.run_finished.connect(self._on_rerun_finished)
        self.rerun.queued.connect(self._on_reruns_queued)
        self.actions.update_enabled(0)

    @property
    def reader(self) -> StoreReader | None:
        """The thread the tab's store reads run on (None until the store is open)."""
        return self._reader

    @property
    def detail(self) -> TrialDetail:
        if self._detail is None:
            self._detail = TrialDetail(self.store_url)
            self._detail.diagnosis.apply_requested.connect(
                lambda item: self._detail_trial is not None and self.actions.apply(self._detail_trial, item)
            )
            self._detail.notes.save_requested.connect(self._save_notes)
            self.stack.addWidget(self._detail)
        return self._detail

    @property
    def compare(self) -> ComparePane:
        if self._compare is None:
            self._compare = ComparePane()
            self.stack.addWidget(self._compare)
        return self._compare

    def _set_up_table(self) -> None:
        t = self.table
        t.setModel(self.model)
        t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        t.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        t.setAlternatingRowColors(True)
        t.setWordWrap(False)
        t.verticalHeader().setVisible(False)
        # Fixed row heights: the view never measures rows it does not show, so 10,000 cost what 100 do.
        t.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        t.verticalHeader().setDefaultSectionSize(t.fontMetrics().height() + 8)
        header = t.horizontalHeader()
        header.setSectionsMovable(True)
        header.setStretchLastSection(True)
        for i, column in enumerate(COLUMNS):
            header.resizeSection(i, column.width)
        header.setSortIndicator(0, Qt.SortOrder.AscendingOrder)  # rank, best first: the model's own order
        t.setSortingEnabled(True)
        t.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        t.customContextMenuRequested.connect(self._context_menu)
        t.addActions([self.actions.delete, self.actions.copy_toml])  # Delete and Ctrl+C in the table

    def _lay_out(self) -> None:
        buttons = QHBoxLayout()
        for action in self.actions.all():
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            buttons.addWidget(button)
        buttons.addSpacing(16)
        buttons.addWidget(self.rerun, 1)
        lower = QWidget()
        column = QVBoxLayout(lower)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(buttons)
        column.addWidget(self.message)
        column.addWidget(self.stack, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(lower)
        split.setStretchFactor(1, 1)
        split.setSizes([330, 500])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.filters)
        layout.addWidget(split, 1)

    # ---- the store ----------------------------------------------------------------------------
    def set_engine_ready(self) -> None:
        """The engine is imported: open the store and show its trials."""
        if self.source is not None:
            return
        try:
            self.source = TrialSource(self.store_url)
        except Exception as exc:
            self.show_message(f"Could not open the trial store: {one_line(exc)}", "error")
            return
        self._reader = StoreReader(self)
        self.model.set_reader(self._reader)
        self.show_message(LOADING)
        self.model.set_source(self.source)
        self._refresh_choices()

    def close_store(self) -> None:
        if self._detail is not None:
            self._detail.notes.flush()
            self._detail.evaluation.shut_down()
        if self.source is not None:
            self.model.set_source(None)
            if self._reader is not None:
                self._reader.stop()  # the read under way finishes before its store closes
                self._reader = None
                self.model.set_reader(None)
            self.source.close()
            self.source = None

    def refresh(self, choices: bool = False) -> None:
        """Read the store again (count, visible rows); the selection follows its trials."""
        self._live_timer.stop()
        if self.source is None:
            return
        if not self.isVisible():
            self._stale = True
            return
        self._stale = False
        self._last_refresh = time.monotonic()
        self._keep_selection(self.model.reload)
        if choices:
            self._refresh_choices()

    def _requery(self, parts: Any) -> None:
        self._keep_selection(lambda: self.model.set_parts(parts))

    def _refresh_choices(self) -> None:
        source = self.source
        if source is None or self._reader is None:
            return

        def read() -> tuple[dict[str, list[str]], str | None]:  # on the reader thread
            return {c: source.distinct(column) for c, column in CHOICE_COLUMNS.items()}, source.latest_dataset()

        self._reader.submit(
            "choices",
            read,
            lambda answer: self.filters.set_choices(*answer),
            lambda text: self.show_message(f"Could not read the filter choices: {text}", "error"),
        )

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            QTimer.singleShot(0, lambda: self.refresh(choices=True))

    # ---- live updates -------------------------------------------------------------------------
    def handle_events(self, events: list) -> None:
        """Any job's events (the window passes them all on): refresh at most once a second when epochs arrive."""
        if self.source is None or not any(isinstance(e, (EpochEnded, FitEnded, FitStarted)) for e in events):
            return
        if not self.isVisible():
            self._stale = True
        elif not self._live_timer.isActive():
            wait = LIVE_REFRESH_MS - (time.monotonic() - self._last_refresh) * 1000
            self._live_timer.start(int(max(0, wait)))

    def job_finished(self) -> None:
        """A run ended (any job): its final numbers and rank are in the store now."""
        if self.source is None:
            self.set_engine_ready()  # the job imported the engine
        else:
            self.refresh(choices=True)

    # ---- selection ----------------------------------------------------------------------------
    def selected_rows(self) -> list[int]:
        rows: set[int] = set()
        for r in self.table.selectionModel().selection():
            rows.update(range(r.top(), r.bottom() + 1))
        return sorted(rows)

    def selected_trials(self, limit: int | None = None) -> list[Any]:
        """TrialRecords of the selected rows, the current row first."""
        rows = self.selected_rows()
        current = self.table.currentIndex().row()
        if current in rows:
            rows.remove(current)
            rows.insert(0, current)
        trials = []
        for row in rows[:limit]:
            r = self.model.trial_at(row)
            if r is not None:
                trials.append(r.trial)
        return trials

    def select_ids(self, ids: list[int], hints: dict[int, int] | None = None) -> None:
        """Select the rows of these trials (those found), the first one current."""
        rows = [row for i in ids if (row := self.model.row_of(i, (hints or {}).get(i))) is not None]
        selection = QItemSelection()
        last = self.model.columnCount() - 1
        for row in rows:
            selection.select(self.model.index(row, 0), self.model.index(row, last))
        flags = QItemSelectionModel.SelectionFlag
        sm = self.table.selectionModel()
        sm.select(selection, flags.ClearAndSelect | flags.Rows)
        if rows:
            sm.setCurrentIndex(self.model.index(rows[0], 0), flags.NoUpdate)

    def _keep_selection(self, change: Any) -> None:
        rows = self.selected_rows()[:MAX_FOLLOWED]
        current = self.table.currentIndex().row()
        if current in rows:
            rows.remove(current)
            rows.insert(0, current)
        hints = {r.trial.id: row for row in rows if (r := self.model.trial_at(row)) is not None}
        if self._follow is not None:  # a load still under way: its selection is the one to follow
            hints = self._follow
        self._follow = hints
        self.model.prefetch = {row // PAGE_SIZE for row in hints.values()}  # read with the count
        change()
        if not self.model.loading:  # nothing to wait for (no change, or read at once)
            self._after_load()

    def _after_load(self) -> None:
        """A load arrived: select the trials that were selected before it, wherever they are now."""
        if self.message.text() == LOADING:
            self.show_message("")
        if self._follow is None or self.model.loading:
            return
        hints, self._follow = self._follow, None
        self._restoring = True
        try:
            self.select_ids(list(hints), hints)
        finally:
            self._restoring = False
        self._on_selection_changed()
        if self._opening is not None:
            self._open_selected(self._opening)

    def _on_selection_changed(self) -> None:
        if self._restoring:
            return
        trials = self.selected_trials(limit=MAX_COMPARED)
        count = len(self.selected_rows())
        self.actions.update_enabled(count)
        self.rerun.set_can_run(any(t.kind == "train" for t in trials))
        shown = ([t.id for t in trials], self.model.parts.metric)  # the scatter's y follows the rank-by metric
        if shown == self._shown and not self._shown_running:
            return  # a refresh that changed nothing on show
        self._shown = shown
        self._shown_running = any(t.running for t in trials)
        try:
            self._show(trials, count)
        except Exception as exc:
            self.show_message(f"Could not read the selected trials: {one_line(exc)}", "error")

    def _show(self, trials: list[Any], count: int) -> None:
        if not trials or self.source is None:
            if self._reader is not None:
                self._reader.cancel("detail")  # a read for the former selection is not shown
            self._detail_trial = None
            if self._detail is not None:
                self._detail.clear()
            self.stack.setCurrentWidget(self.hint)
            return
        source = self.source
        if count == 1:
            trial_id = trials[0].id

            def read_one() -> tuple[Any, list[Any], Any]:  # on the reader thread
                trial = source.trial(trial_id)  # fresh: notes and numbers as stored now
                epochs = source.epochs(trial.id)
                return trial, epochs, source.diagnose(trial, epochs) if trial.kind == "train" else None

            self._read(read_one, lambda answer: self._show_one(*answer))
            return
        metric = self.model.parts.metric
        self._read(
            lambda: {t.id: source.epochs(t.id) for t in trials},
            lambda epochs: self._show_compared(trials, epochs, metric, count),
        )

    def _read(self, read: Any, show: Any) -> None:
        """The selected trials' details, read off the GUI thread (only the latest selection's are shown)."""
        if self._reader is None:
            show(read())
            return
        self._reader.submit(
            "detail", read, show, lambda text: self.show_message(f"Could not read the selected trials: {text}", "error")
        )

    def _show_one(self, trial: Any, epochs: list[Any], diagnosis: Any) -> None:
        kind = trial.kind
        note = "" if kind == "train" else f"No diagnosis: trial {trial.id} is a {kind} trial, not a training run."
        self._detail_trial = trial
        self.detail.show_trial(trial, epochs, diagnosis, note)
        self.stack.setCurrentWidget(self.detail)
        if self._opening == trial.id:
            self._opening = None
            self.detail.views.setCurrentWidget(self.detail.evaluation)

    def _show_compared(self, trials: list[Any], epochs: dict[int, list[Any]], metric: str, count: int) -> None:
        self._detail_trial = None
        if self._detail is not None:
            self._detail.clear()
        self.compare.show_trials(trials, epochs, METRIC_COLUMNS[metric], METRIC_NAMES[metric], count)
        self.stack.setCurrentWidget(self.compare)

    # ---- actions ------------------------------------------------------------------------------
    def open_evaluation(self, trial_id: int) -> None:
        """Select the trial and show its Evaluation view (the tab is on show, so the table is read now)."""
        self._opening = trial_id
        self.refresh()
        if self.model.loading:  # the table is being read: select it when the rows arrive
            self._follow = {trial_id: 0}
            return
        self.select_ids([trial_id])
        self._open_selected(trial_id)

    def _open_selected(self, trial_id: int) -> None:
        """After select_ids([trial_id]): its Evaluation view shows now, or when its detail arrives."""
        if [t.id for t in self.selected_trials(limit=1)] != [trial_id]:
            self._opening = None
            self.show_message(f"Trial {trial_id} is not in the table: clear the filters to see it.", "warn")
        elif self._detail_trial is not None and self._detail_trial.id == trial_id:
            self._opening = None
            self.detail.views.setCurrentWidget(self.detail.evaluation)

    def _save_notes(self, trial_id: int, text: str) -> None:
        if self.source is None:
            return
        try:
            self.source.set_notes(trial_id, text)
        except Exception as exc:
            self.detail.notes.mark_saved(False, f"Not saved: {one_line(exc)}")
            return
        self.model.patch_trial(trial_id, notes=text)
        self.detail.notes.mark_saved(True)

    def rerun_selected(self) -> bool:
        ids = [t.id for t in self.selected_trials() if t.kind == "train"]
        if not ids:
            self.show_message("Select training trials to re-run them with other seeds.", "warn")
            return False
        if not self.rerun.start(ids):
            return False
        if self.rerun.on_workers.isChecked():
            self.show_message(f"Queuing re-runs of {id_list(ids)} with {self.rerun.seeds_used} new seeds each…")
        else:
            self.show_message(f"Re-running {id_list(ids)} with {self.rerun.seeds_used} new seeds each…")
        return True

    def _on_reruns_queued(self, answer: list[int] | str) -> None:
        """Re-runs "on workers": queued in the store (shown as queued), or the line saying why not."""
        if isinstance(answer, str):
            self.show_message(f"The re-runs could not be queued: {answer}", "error")
            return
        self.show_message(f"Queued {len(answer)} re-runs for workers ({id_list(answer)}): {WORKER_HINT}.")
        self.job_finished()

    def _on_rerun_finished(self, outcome: JobOutcome) -> None:
        if outcome.result is None:
            self.show_message(f"The re-runs could not start: {outcome.error}", "error")
        else:
            self.show_message(*rerun_summary(outcome.result, self.rerun.trial_ids, self.rerun.seeds_used))
        self.run_finished.emit(outcome)  # the window calls job_finished() after every job

    def _context_menu(self, pos: QPoint) -> None:
        if not self.selected_rows():
            return
        menu = QMenu(self)
        menu.addActions(self.actions.all()[:-1])
        menu.addSeparator()
        menu.addAction(self.actions.delete)
        menu.exec(self.table.viewport().mapToGlobal(pos))

    def show_message(self, text: str, kind: str = "info") -> None:
        show_message(self.message, text, kind)
        self._confirmation = text if kind == "ok" else ""
        if self._confirmation:
            self._clear_timer.start()

    def _clear_confirmation(self) -> None:
        if self._confirmation and self.message.text() == self._confirmation:
            show_message(self.message, "")

    # ---- run state (the window's one-job-at-a-time wiring) ------------------------------------
    @property
    def running(self) -> bool:
        return self.rerun.running

    def set_blocked(self, reason: str) -> None:
        self.rerun.set_blocked(reason)

    def stop(self) -> None:
        self.rerun.stop()
