"""The Ensembles tab: combine stored trials (greedy selection, the default; voting, weighted averaging,
stacking) or train new members (bagging, boosting, snapshots) with the Training tab's config, live, then compare
members and ensemble with the best single trial.

Left: the method and its settings, which trials it combines (or which config it trains), Build / Stop,
progress, earlier ensembles and Export. Right: one row per member while it builds, then the results table.
The window's JobRunner runs the job, like training; the engine saves the ensemble as a trial of kind "ensemble".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QFileDialog, QGroupBox, QSplitter, QVBoxLayout, QWidget

from app.config_model import ConfigModel
from app.earlier_box import EarlierBox
from app.ensembles import wording as text
from app.ensembles.candidates_view import CandidatesView
from app.ensembles.member_table import MemberTable
from app.ensembles.results_view import ResultsView
from app.ensembles.settings_form import EnsembleForm
from app.job_runner import JobRunner
from app.job_tab import JobTab, push_button
from app.jobs import ensemble_job, ensemble_members_now, export_stored_ensemble, stored_ensemble, stored_ensembles
from app.lr_finder.wording import config_summary
from app.training.panes import inputs_beside_view
from app.worker import JobOutcome
from trainers.spec.config import RunConfig
from trainers.spec.ensemble_events import EnsembleResult, EnsembleStarted, MemberProgress

EXPORT_SUFFIX = ".tlens"
EXPORT_FILTER = "TuneLab ensemble (*.tlens)"
CANDIDATES_DELAY_MS = 150  # typing trial ids asks the store once the typing pauses
# (trial id, kind) of the trials selected in the History tab, the current one first
Selection = Callable[[], list[tuple[int, str]]]


class EnsembleTab(JobTab):
    CANNOT = "Cannot build the ensemble"

    def __init__(
        self,
        runner: JobRunner,
        config_model: ConfigModel,
        store_url: str | None = None,
        history_selection: Selection | None = None,
        parent: QWidget | None = None,
    ) -> None:
        earlier = EarlierBox("ensemble", "Earlier e&nsembles:", "Show an ensemble from the trial store again")
        # Alt+R is the Run menu, Alt+E the Ensembles tab
        run_button = push_button("B&uild ensemble", "Build the ensemble with these settings")
        super().__init__(
            runner,
            config_model,
            store_url,
            EnsembleForm(),
            earlier,
            run_button,
            "Stop before the next batch (Esc)",
            parent,
        )
        self.history_selection = history_selection
        self.candidates = CandidatesView()
        self.export_button = push_button("E&xport…", "Save the ensemble on show as one file that loads back")
        self.members = MemberTable()
        self.results = ResultsView()
        self._candidates_timer = QTimer(self)
        self._candidates_timer.setSingleShot(True)
        self._candidates_timer.setInterval(CANDIDATES_DELAY_MS)
        self._lay_out()

        self.export_button.clicked.connect(self.export_dialog)
        self.candidates.use_selection_clicked.connect(self.use_history_selection)
        self._candidates_timer.timeout.connect(self.refresh_candidates)
        self._show_first_state()

    def _lay_out(self) -> None:
        members_box, results_box = QGroupBox("Members"), QGroupBox("Results")
        QVBoxLayout(members_box).addWidget(self.members)
        QVBoxLayout(results_box).addWidget(self.results)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(members_box)
        right.addWidget(results_box)
        right.setStretchFactor(1, 1)
        left = self._inputs_column("Ensemble", before_config=(self.candidates,), after_earlier=(self.export_button,))
        inputs_beside_view(self, left, right, width=400)
        # Tab walks the settings, what they combine, Build, Stop, the earlier ensembles, Export, then the tables.
        chain = [
            *(e.focus_widget() for e in self.form.editors().values()),
            self.candidates.list,
            self.candidates.use_button,
            self.run_button,
            self.stop_button,
            self.earlier.combo,
            self.export_button,
            self.members,
            self.results.table,
        ]
        for first, second in zip(chain, chain[1:]):
            QWidget.setTabOrder(first, second)

    # ---- state -------------------------------------------------------------------------------
    def _input_problems(self) -> Iterator[str]:
        yield self._settings_problem()
        if self.form.trains():
            yield self._config_problem()

    def _read_store(self, select: int | None = None) -> None:
        """Earlier ensembles, and the trials the combining method would use now."""
        self.refresh_earlier(select)
        self.refresh_candidates()

    def _config_line(self, cfg: RunConfig | None) -> str:
        if cfg is None:
            return "The Training tab's config is invalid."
        return (
            f"Uses the Training tab's config: {config_summary(cfg)} · "
            f"{text.epochs_plan(cfg.train.epochs, self.form.method(), self._members())}"
        )

    # ---- actions -----------------------------------------------------------------------------
    def start(self) -> bool:
        """Start building; False when a job runs or something blocks it (the reason is on show)."""
        settings = self.form.settings()
        cfg = self.config_model.config() if self.form.trains() else None
        if not self._may_start() or settings is None:
            return False
        if cfg is not None:
            self.config_label.setText(f"Training members with the Training tab's config: {config_summary(cfg)}")
        self.members.clear_members()
        self.results.show_result(None)
        self._set_progress(0, 0)  # busy until the job says how many member-epochs it plans
        line = "Loading the members' data…" if cfg is None else "Loading data and building the members…"
        return self._launch(ensemble_job(settings, cfg, self.store_url), line)

    def use_history_selection(self) -> bool:
        """Fill Trial ids with the training trials selected in the History tab."""
        chosen = self.history_selection() if self.history_selection is not None else []
        ids = [trial_id for trial_id, kind in chosen if kind == "train"]
        others = [trial_id for trial_id, kind in chosen if kind != "train"]
        if len(ids) < 2:
            self._show(
                "Select at least two training trials in the History tab (Ctrl+click adds a row), then use them here.",
                "warn",
            )
            return False
        self.form.set_field("trials", ", ".join(str(i) for i in ids))
        skipped = f"; left out {', '.join(f'#{i}' for i in others)} (not training runs)" if others else ""
        self._show(f"Combining the History selection: {', '.join(f'#{i}' for i in ids)}{skipped}", "ok")
        self.refresh_candidates()
        return True

    def export_dialog(self) -> Path | None:
        result = self.results.result
        if result is None or result.trial_id is None:
            return None
        path, _ = QFileDialog.getSaveFileName(
            self, f"Export ensemble {result.trial_id}", f"ensemble-{result.trial_id}{EXPORT_SUFFIX}", EXPORT_FILTER
        )
        return self.export_to(path) if path else None

    def export_to(self, path: str | Path) -> Path | None:
        """Write the ensemble on show to `path` (.tlens added when it has no suffix) on the reader thread (it reads
        the store, and its file may come from the database); the path it goes to, or None when it cannot."""
        result = self.results.result
        if result is None or result.trial_id is None or not self._can_export():
            self._show("Nothing to export: build an ensemble or choose an earlier one that was saved.", "warn")
            return None
        target = Path(path)
        if not target.suffix:
            target = target.with_suffix(EXPORT_SUFFIX)
        trial_id, url = result.trial_id, self.store_url
        self._show(f"Exporting ensemble {trial_id} to {target}…", "info")
        self.reader.submit(
            "",
            lambda: export_stored_ensemble(trial_id, target, url),
            lambda written: self._show(f"Exported ensemble {trial_id} to {written}", "ok"),
            lambda line: self._show(f"Could not export ensemble {trial_id}: {line}", "error"),
        )
        return target

    # ---- its job, from the runner ------------------------------------------------------------
    def on_job_events(self, events: list) -> None:
        self.handle_events(events)

    def handle_events(self, events: list) -> None:
        """A batch of the job's events: the member rows and the overall bar follow them."""
        for e in events:
            if isinstance(e, MemberProgress):
                self.members.update_member(e)
                self.progress.setMaximum(max(self.members.epochs_planned(), self.members.epochs_done()))
                self.progress.setValue(self.members.epochs_done())
            elif isinstance(e, EnsembleStarted):
                self.members.start(e)
                self._set_progress(len(e.labels) * e.epochs, 0)
                self._show(text.started_line(e.method, len(e.labels), e.epochs, e.vectorised, e.trial_id))
        self.events_received.emit(events)

    def _take_outcome(self, outcome: JobOutcome) -> None:
        result = outcome.result
        if isinstance(result, EnsembleResult):
            self.results.show_result(result)
            if result.status == "completed":
                self.members.finish_all()
                self._set_progress(max(1, self.progress.maximum()), max(1, self.progress.maximum()))
        if self.progress.maximum() == 0:  # never left "busy": show an empty bar, not a moving one
            self._set_progress(1, 0)

    def _outcome_line(self, outcome: JobOutcome) -> tuple[str, str]:
        return text.describe_outcome(outcome)

    # ---- the store ---------------------------------------------------------------------------
    def refresh_candidates(self) -> None:
        """Ask the store which trials the combining method would use now, and list them."""
        self._candidates_timer.stop()
        settings = self.form.settings()
        if self.form.trains():
            return
        if not self._engine_ready:
            self.candidates.show_waiting()
        elif settings is None:
            self.candidates.show_problem(self.form.first_error())
        else:
            url = self.store_url
            self.reader.submit(  # off the GUI thread: the latest settings' answer is the one shown
                "candidates",
                lambda: ensemble_members_now(settings, url),
                self.candidates.show_candidates,
                self.candidates.show_problem,
            )

    def _stored_rows(self) -> list[tuple[int, str]]:
        return stored_ensembles(self.store_url)

    def earlier_ensembles(self) -> list[tuple[int, str]]:
        return self.earlier.rows()

    def _read_earlier(self, trial_id: int) -> Any:
        return stored_ensemble(trial_id, self.store_url)

    def _earlier_unreadable(self, trial_id: int, text: str) -> None:
        self._show(f"Could not load ensemble {trial_id}: {text}", "error")

    def _show_earlier(self, trial_id: int, result: Any) -> bool:
        """Show a stored ensemble's results table as it was."""
        if self.running:
            return False
        self.members.clear_members()
        self.results.show_result(result)
        self.earlier.mark(trial_id)
        self._set_running(False)
        self._show(
            f"Showing ensemble {trial_id} ({text.method_label(result.method)}, {result.status})"
            + (f": {result.message}" if result.message else "")
        )
        return True

    # ---- helpers -----------------------------------------------------------------------------
    def _on_settings_changed(self) -> None:
        trains = self.form.trains()
        self.candidates.set_choosing(self.form.method() == "greedy-selection")
        self.candidates.setVisible(not trains)
        self.config_label.setVisible(trains)
        if not trains and self._engine_ready:
            self._candidates_timer.start()
        self._refresh_state()

    def _members(self) -> int:
        settings = self.form.settings()
        return settings.members if settings is not None else 0

    def _can_export(self) -> bool:
        r = self.results.result
        return not self.running and r is not None and r.trial_id is not None and r.file is not None

    def _set_progress(self, maximum: int, value: int) -> None:
        """maximum 0: busy (combining has no epochs to count)."""
        self.progress.setRange(0, maximum)
        self.progress.setValue(value)
        self.progress.setFormat("%v / %m member-epochs" if self.members.epochs else "%p %")

    def _enable_more(self, running: bool) -> None:
        self.candidates.use_button.setEnabled(not running and self.history_selection is not None)
        self.export_button.setEnabled(self._can_export())

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._engine_ready and not self.running and not self.form.trains():
            self._candidates_timer.start()  # trials may have been trained or deleted meanwhile
