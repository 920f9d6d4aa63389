"""The Search tab: a hyperparameter search on what the Training tab trains, on Optuna through the engine.

Left: how the search runs (sampler, pruner, budget, workers, seed, LR-finder seeding, what it optimises), which
config it searches, Start / Stop, progress, earlier searches and what to do with the best trials. Right: the space
(one row per field, each checked in place) and the plots (optimisation history, intermediate values, parallel
coordinates, parameter importance) over the trials table, all drawn from the engine's events as trials report.
The window's JobRunner runs the search, one job at a time with the other tabs.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QSplitter, QTabWidget, QWidget

from app.config_model import ConfigModel
from app.earlier_box import EarlierBox
from app.job_runner import JobRunner
from app.job_tab import JobTab, push_button
from app.search import wording as text
from app.search.best_actions import RERUN_SEEDS, RERUN_TOP, BestActions
from app.search.history_plot import HistoryPlot
from app.search.importance_feed import SearchImportance
from app.search.importance_view import ImportanceView
from app.search.intermediate_plot import IntermediatePlot
from app.search.parallel_plot import ParallelPlot
from app.search.search_jobs import (
    StoredSearch,
    best_search_config,
    fanova_importance,
    search_ensemble_settings,
    search_job,
    search_top_trials,
    stored_search,
    stored_searches,
)
from app.search.settings_form import SearchSettingsForm
from app.search.space_editor import SpaceEditor
from app.search.trial_log import TrialLog, TrialRow
from app.search.trials_table import TrialsTable
from app.store_reader import StoreReader
from app.training.panes import inputs_beside_view, scrolling
from app.worker import JobOutcome
from trainers.spec.config import RunConfig
from trainers.spec.errors import ConfigError
from trainers.spec.events import FitEnded, LrFinderStarted
from trainers.spec.search_events import SearchResult, SearchStarted, SearchTrialEnded, SearchTrialReported
from trainers.spec.search_settings import SearchSettings, check_for_sampler

START_TIP = "Search the space with these settings on the Training tab's config"
TRIALS_FORMAT = "%v / %m trials"
PAUSE_TIP = "Pause every trial before its next batch, or resume them (Ctrl+P); a paused search keeps its trials"


class SearchTab(JobTab):
    CANNOT = "Cannot start the search"
    config_chosen = Signal(object, str, str)  # RunConfig, message, tab: Apply best (the window's use_config)
    rerun_requested = Signal(list, int, str)  # trial ids, seeds, message: the History tab re-runs them
    ensemble_requested = Signal(object, str)  # EnsembleSettings, message: the Ensembles tab takes them

    def __init__(
        self, runner: JobRunner, config_model: ConfigModel, store_url: str | None = None, parent: QWidget | None = None
    ) -> None:
        earlier = EarlierBox("search", "Earl&ier searches:", "Show an earlier search from the trial store")
        run_button = push_button("S&tart search", START_TIP)  # Alt+S is Stop, Alt+R the Run menu
        super().__init__(
            runner,
            config_model,
            store_url,
            SearchSettingsForm(),
            earlier,
            run_button,
            "Stop the search before the next batch (Esc); finished trials are kept",
            parent,
        )
        self.log = TrialLog()
        self.result: SearchResult | None = None
        self.space_editor = SpaceEditor()
        self.table = TrialsTable()
        self.history_plot = HistoryPlot()
        self.intermediate = IntermediatePlot()
        self.parallel = ParallelPlot()
        self.importance = ImportanceView()
        self.best = BestActions()
        # no Alt letter is left on this tab: Ctrl+P (Run menu) pauses and resumes too
        self.pause_button = push_button("Pause", PAUSE_TIP)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.views = QTabWidget()
        self._lay_out()
        self.space_editor.set_base(config_model.config())
        self.space_editor.changed.connect(self._on_space_changed)
        config_model.changed.connect(lambda: self.space_editor.set_base(self.config_model.config()))
        self.best.apply_clicked.connect(self.apply_best)
        self.best.rerun_clicked.connect(self.rerun_top)
        self.best.ensemble_clicked.connect(self.ensemble_top)
        self.importance.fanova_requested.connect(self.rank_by_fanova)
        self._fanova_reader: StoreReader | None = None  # its own thread: a forest may take minutes
        self._show_first_state()

    def _lay_out(self) -> None:
        plots = QWidget()
        grid = QGridLayout(plots)
        grid.setContentsMargins(0, 0, 0, 0)
        for i, w in enumerate((self.history_plot, self.intermediate, self.parallel, self.importance)):
            grid.addWidget(w, i // 2, i % 2)
        self.views.addTab(scrolling(self.space_editor), "Space")
        self.views.addTab(plots, "Plots")
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.views)
        right.addWidget(self.table)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)
        right.setSizes([400, 220])
        column = self._inputs_column("Search", after_earlier=(self.best,), after_stop=(self.pause_button,))
        inputs_beside_view(self, column, right, width=420)
        chain = [
            *(e.focus_widget() for e in self.form.editors().values()),
            self.run_button,
            self.stop_button,
            self.pause_button,
            self.earlier.combo,
            self.best.apply_button,
            self.best.rerun_button,
            self.best.ensemble_button,
            self.best.top_k,
            self.views,
        ]
        for first, second in zip(chain, chain[1:]):
            QWidget.setTabOrder(first, second)

    # ---- state -------------------------------------------------------------------------------
    def _input_problems(self) -> Iterator[str]:
        yield self._config_problem()
        yield self._settings_problem()
        yield self.space_editor.problem()
        yield self._sampler_problem()

    def _sampler_problem(self) -> str:
        space, settings = self.space_editor.space(), self.form.settings()
        if space is None or settings is None:
            return ""
        try:
            check_for_sampler(space, settings)
        except ConfigError as exc:
            return str(exc)
        return ""

    def _config_line(self, cfg: RunConfig | None) -> str:
        if cfg is None:
            return "The Training tab's config is invalid."
        return f"Searches the Training tab's config: {text.config_summary(cfg)}"

    def _set_running(self, running: bool, reason: str | None = None) -> None:
        if reason is None:
            reason = self.run_blocker()[0]
        super()._set_running(running, reason)
        self.run_button.setToolTip(reason if reason and not running else START_TIP)

    def _on_space_changed(self) -> None:
        invalid = sum(1 for row in self.space_editor.rows.values() if row.searched and row.error.text())
        self.views.setTabText(0, f"Space ({invalid} invalid)" if invalid else "Space")
        self._refresh_state()

    def set_blocked(self, reason: str) -> None:
        super().set_blocked(reason)
        self._sync_best()

    def _enable_more(self, running: bool) -> None:
        self.space_editor.set_locked(running)
        self.pause_button.setEnabled(running)
        if not running:
            self.pause_button.setText("Pause")
        self._sync_best()

    def toggle_pause(self) -> None:
        """Pause the search's trials before their next batch (worker processes too), or let them go on."""
        if not self.running:
            return
        if self.runner.paused:
            self.runner.resume()
            self._show("Searching…")
        else:
            self.runner.pause()
            self._show("Paused: each trial waits before its next batch. Resume (Ctrl+P) to go on.", "warn")
        self.pause_button.setText("Resume" if self.runner.paused else "Pause")

    def _sync_best(self) -> None:
        if self.running or self._blocked:
            self.best.set_usable(False, "")
        elif self.result is None:
            self.best.set_usable(False, "Run a search, or choose an earlier one.")
        elif self.result.best_trial_id is None:
            self.best.set_usable(False, f"Search {self.result.search_id} has no completed trial.")
        else:
            self.best.set_usable(True)

    # ---- actions -----------------------------------------------------------------------------
    def start(self) -> bool:
        """Start a search; False when a job runs or something blocks it (the reason is on show)."""
        cfg, settings, space = self.config_model.config(), self.form.settings(), self.space_editor.space()
        if not self._may_start() or cfg is None or settings is None or space is None:
            return False
        self.config_label.setText(f"Searching the Training tab's config: {text.config_summary(cfg)}")
        self._clear_views(TrialLog(space=space.to_dict()), None)
        self.progress.setFormat(TRIALS_FORMAT)
        self.progress.setRange(0, settings.trials)  # 0: only a time limit, a busy bar
        self.progress.setValue(0)
        self.views.setCurrentIndex(1)
        line = "Running the LR finder first…" if settings.lr_finder_seed and space.param("optim.lr") else "Starting…"
        return self._launch(search_job(cfg, space, settings, self.store_url), line)

    def apply_best(self) -> bool:
        """The best trial's config into the Training tab (the window switches to it once the store has answered)."""
        search_id = self.result.search_id if self.result is not None else None
        if search_id is None:
            return False
        best = self.result.best_trial_id if self.result is not None else None
        self._read_for_best(
            lambda: best_search_config(search_id, self.store_url),
            lambda cfg: self.config_chosen.emit(
                cfg, f"config of trial {best}, the best of search {search_id}: ready to train", "training"
            ),
            f"Cannot apply the best trial of search {search_id}",
        )
        return True

    def rerun_top(self) -> bool:
        """The top three completed trials trained again with three new seeds each, in the History tab."""
        search_id = self.result.search_id if self.result is not None else None
        if search_id is None:
            return False

        def rerun(ids: list[int]) -> None:
            if not ids:
                self._show(f"Search {search_id} has no completed trial to re-run.", "warn")
                return
            listed = ", ".join(f"#{i}" for i in ids)
            self.rerun_requested.emit(
                ids, RERUN_SEEDS, f"Re-running {listed} (top of search {search_id}) with {RERUN_SEEDS} new seeds each…"
            )

        self._read_for_best(
            lambda: search_top_trials(search_id, RERUN_TOP, self.store_url),
            rerun,
            f"Cannot re-run the top trials of search {search_id}",
        )
        return True

    def ensemble_top(self, k: int) -> bool:
        """Ensemble settings combining the top K completed trials, into the Ensembles tab."""
        search_id = self.result.search_id if self.result is not None else None
        if search_id is None:
            return False
        self._read_for_best(
            lambda: search_ensemble_settings(search_id, k, self.store_url),
            lambda settings: self.ensemble_requested.emit(
                settings, f"Top {k} of search {search_id} ({settings.trials}): press Build ensemble to combine them"
            ),
            f"Cannot combine the top {k} of search {search_id}",
        )
        return True

    def _read_for_best(self, read: Callable[[], Any], then: Callable[[Any], None], cannot: str) -> None:
        """A Best-trials action: its store read on the tab's reader thread, then `then` on the GUI thread."""
        self.reader.submit("best", read, then, lambda error: self._show(f"{cannot}: {error}", "error"))

    def rank_by_fanova(self) -> bool:
        """fANOVA's importance of the search on show, measured in the background; False when none is on show."""
        search_id = self.log.search_id
        if search_id is None:
            return False
        if self._fanova_reader is None:
            self._fanova_reader = StoreReader(self, name="tunelab-fanova")
        self.importance.set_fanova(True, measuring=True)
        self._fanova_reader.submit(
            "fanova",
            lambda: fanova_importance(search_id, self.store_url),
            lambda measured: self._fanova_done(search_id, measured, ""),
            lambda error: self._fanova_done(search_id, None, error),
        )
        return True

    def _fanova_done(self, search_id: int, measured: SearchImportance | None, error: str) -> None:
        if search_id != self.log.search_id:
            return  # another search is on show now
        self.importance.set_fanova(True)
        if measured is not None:
            self.importance.show_importance(measured.values, measured.reason)
        else:
            self.importance.note.setText(f"fANOVA could not rank the parameters: {error}")
            self.importance.note.setVisible(True)

    # ---- its job, from the runner ------------------------------------------------------------
    def on_job_events(self, events: list) -> None:
        finished = False
        for e in events:
            if isinstance(e, SearchTrialReported):
                self._show_row(self.log.reported(e))
            elif isinstance(e, SearchTrialEnded):
                self._show_row(self.log.ended(e))
                finished = True
            elif isinstance(e, FitEnded):
                row = self.log.fit_ended(e)
                if row is not None:
                    self.table.show_row(row)
            elif isinstance(e, SearchImportance):
                self.importance.show_importance(e.values, e.reason)
            elif isinstance(e, SearchStarted):
                self._search_started(e)
            elif isinstance(e, LrFinderStarted):
                self._show("Running the LR finder to centre the learning-rate range…")
        if finished:
            self._redraw_finished()
        self.events_received.emit(events)

    def _search_started(self, e: SearchStarted) -> None:
        self.log.start(e)
        self.importance.set_fanova(e.search_id is not None)
        self.table.start_over(self.log.params())
        self.intermediate.set_value_label(text.MONITOR_SHORT.get(e.monitor, e.monitor))
        self.progress.setRange(0, e.trials)
        self._show(text.started_line(e))

    def _show_row(self, row: TrialRow) -> None:
        if any(p not in self.table.params for p in row.params):
            self.table.show_rows(self.log.params(), self.log.in_order())
        else:
            self.table.show_row(row)
        self.intermediate.show_row(row)

    def _redraw_finished(self) -> None:
        finished = self.log.finished()
        maximise, label = text.maximised(self.log.monitor), text.MONITOR_SHORT.get(self.log.monitor, "value")
        self.history_plot.show_trials(finished, maximise, label)
        self.parallel.show_trials(finished, self.log.space, self.log.params(), maximise)
        if self.progress.maximum() > 0:
            self.progress.setValue(min(len(finished), self.progress.maximum()))

    def _take_outcome(self, outcome: JobOutcome) -> None:
        result = outcome.result
        if isinstance(result, SearchResult):
            self.result = result
            done = len(self.log.finished())
            self.progress.setRange(0, max(done, self.progress.maximum(), 1))
            self.progress.setValue(done)
        elif self.progress.maximum() == 0:
            self.progress.setRange(0, 1)

    def _outcome_line(self, outcome: JobOutcome) -> tuple[str, str]:
        return text.describe_outcome(outcome)

    # ---- earlier searches --------------------------------------------------------------------
    def _stored_rows(self) -> list[tuple[int, str]]:
        return stored_searches(self.store_url)

    def _read_store(self, select: int | None = None) -> None:
        self.refresh_earlier(select if select is not None else self.log.search_id)

    def earlier_searches(self) -> list[tuple[int, str]]:
        return self.earlier.rows()

    def _read_earlier(self, trial_id: int) -> StoredSearch:
        return stored_search(trial_id, self.store_url)

    def _earlier_unreadable(self, trial_id: int, text: str) -> None:
        self._show(f"Could not load search {trial_id}: {text}", "error")

    def _show_earlier(self, trial_id: int, stored: StoredSearch) -> bool:
        """Show a stored search's trials, plots, settings and space as they were."""
        if self.running:
            return False
        self._show_stored(trial_id, stored)
        self.earlier.mark(trial_id)
        self._set_running(False)
        line, kind = text.describe_result(stored.result)
        self._show(
            f"Showing: {line}" + (f" Its trials could not be read: {stored.problem}" if stored.problem else ""),
            "warn" if stored.problem else kind,
        )
        return True

    def _show_stored(self, trial_id: int, stored: StoredSearch) -> None:
        r = stored.result
        log = TrialLog(search_id=trial_id, monitor=r.monitor, storage=r.storage, space=dict(stored.space))
        log.load(stored.trials, stored.seconds)
        self._clear_views(log, r)
        self.table.show_rows(log.params(), log.in_order())
        self.intermediate.show_rows(log.in_order(), text.MONITOR_SHORT.get(r.monitor, r.monitor))
        self._redraw_finished()
        if stored.importance is not None:
            self.importance.show_importance(stored.importance.values, stored.importance.reason)
        done = len(log.finished())
        self.progress.setFormat(TRIALS_FORMAT)
        self.progress.setRange(0, max(done, 1))
        self.progress.setValue(done)
        if stored.settings:  # the form shows what this search ran with, so Start repeats it
            try:
                self.form.set_settings(SearchSettings.from_dict(stored.settings))
            except ConfigError:
                pass  # settings this version no longer takes: the form keeps its own
        if stored.space:
            self.space_editor.set_space(stored.space)
        self.views.setCurrentIndex(1)

    # ---- helpers -----------------------------------------------------------------------------
    def _clear_views(self, log: TrialLog, result: SearchResult | None) -> None:
        self.log, self.result = log, result
        self.table.start_over(log.params())
        self.history_plot.clear()
        self.intermediate.clear()
        self.parallel.clear()
        self.importance.clear()
        if self._fanova_reader is not None:
            self._fanova_reader.cancel("fanova")
        self.importance.set_fanova(log.search_id is not None)
        self._sync_best()
