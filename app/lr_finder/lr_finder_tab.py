"""The LR finder tab: a learning-rate range test on what the Training tab trains.

Left: the test's settings, which training config it uses, Run / Stop, progress, and earlier tests. Right:
the loss-against-rate plot, drawn live, and the suggested rates with a button that puts the chosen one
into the Training tab. The window's JobRunner runs the test, like training.
"""

from __future__ import annotations

from typing import Iterator

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QSplitter, QWidget

from app.config_model import ConfigModel
from app.earlier_box import EarlierBox
from app.job_runner import JobRunner
from app.job_tab import JobTab, push_button
from app.jobs import lr_finder_job, stored_lr_finder_run, stored_lr_finder_runs
from app.lr_finder import wording as text
from app.lr_finder.curve_plot import LrFinderPlot
from app.lr_finder.settings_form import LrFinderSettingsForm
from app.lr_finder.suggestions_box import SuggestionsPanel
from app.lr_finder.verify_box import VerifyPanel
from app.training.panes import inputs_beside_view
from app.worker import JobOutcome
from trainers.spec.config import RunConfig
from trainers.spec.events import LrFinderResult, LrFinderStarted, LrFinderStep
from trainers.spec.lr_finder_settings import LrFinderSettings
from trainers.spec.lr_verify_events import LrVerifyEpoch, LrVerifyStarted
from trainers.spec.rates import recommended_rate

ITERATION_FORMAT = "iteration %v / %m"
VERIFY_FORMAT = "short runs: epoch %v / %m"


class LrFinderTab(JobTab):
    CANNOT = "Cannot run the test"
    rate_applied = Signal(str, str)  # after a test Apply started: the line saying the rate set (or why not), kind

    def __init__(
        self, runner: JobRunner, config_model: ConfigModel, store_url: str | None = None, parent: QWidget | None = None
    ) -> None:
        earlier = EarlierBox("test", "Earl&ier tests:", "Show an earlier LR finder run from the trial store")
        run_button = push_button(
            "Ru&n test",  # Alt+R belongs to the Run menu
            "Run the LR finder with these settings on the Training tab's config",
        )
        super().__init__(
            runner,
            config_model,
            store_url,
            LrFinderSettingsForm(),
            earlier,
            run_button,
            "Stop before the next batch (Esc); the partial curve is kept",
            parent,
        )
        self._done_before = 0  # progress: iterations of the repeats before the current one
        self._apply_for: int | None = None  # the trial whose diagnosis asked for this test's rate, while it runs
        self.progress.setFormat(ITERATION_FORMAT)
        self.plot = LrFinderPlot()
        self.suggestions = SuggestionsPanel()
        self.verify = VerifyPanel()
        self._lay_out()
        self.suggestions.use_requested.connect(self.use_lr)
        self._show_first_state()

    def _lay_out(self) -> None:
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.plot)
        right.addWidget(self.suggestions)
        right.addWidget(self.verify)
        right.setStretchFactor(0, 1)
        inputs_beside_view(self, self._inputs_column("LR finder"), right, width=380)
        # Tab walks the settings, then Run, Stop and the earlier tests, then the plot's tools and the answer.
        chain = [
            *(e.focus_widget() for e in self.form.editors().values()),
            self.run_button,
            self.stop_button,
            self.earlier.combo,
            self.suggestions.chooser,
            self.suggestions.use_button,
        ]
        for first, second in zip(chain, chain[1:]):
            QWidget.setTabOrder(first, second)

    # ---- state -------------------------------------------------------------------------------
    def _input_problems(self) -> Iterator[str]:
        yield self._config_problem()
        yield self._settings_problem()

    def set_blocked(self, reason: str) -> None:
        """Keep Run (and Use this LR) disabled, saying `reason`; "" allows them again."""
        self.suggestions.set_can_use(not reason)
        super().set_blocked(reason)

    def _config_line(self, cfg: RunConfig | None) -> str:
        if cfg is None:
            return "The Training tab's config is invalid."
        return f"Uses the Training tab's config: {text.config_summary(cfg)}"

    # ---- actions -----------------------------------------------------------------------------
    def start(self) -> bool:
        """Start a test; False when one is running or something blocks it (the reason is on show)."""
        cfg, settings = self.config_model.config(), self.form.settings()
        if not self._may_start() or cfg is None or settings is None:
            return False
        self.config_label.setText(f"Testing with the Training tab's config: {text.config_summary(cfg)}")
        self.plot.reset()
        self.plot.start_live()
        self.suggestions.show_result(None)
        self.verify.show_verified(None)
        self._done_before = 0
        self.progress.setFormat(ITERATION_FORMAT)
        self.progress.setMaximum(settings.iterations * settings.repeats)
        self.progress.setValue(0)
        return self._launch(lr_finder_job(cfg, settings, self.store_url), "Loading data and building the model…")

    def use_lr(self, rate: float) -> bool:
        """Train at `rate` in the Training tab (the engine's rule: optim.lr, and the one-cycle peak)."""
        keys, errors = self.config_model.set_learning_rate(rate)
        if errors:
            self._show(f"{next(iter(errors.values()))} (set from the LR finder)", "error")
            return False
        self._show(f"{' and '.join(keys)} set to {text.format_lr(rate)} in the Training tab", "ok")
        return True

    def find_and_use(self, trial_id: int) -> bool:
        """Run the test on the Training tab's config (trial `trial_id`'s, put there by Apply) and, once it finishes
        with a rate, train at the recommended one; False when the test cannot start (the reason is on show)."""
        if not self.start():
            reason = self.run_blocker()[0] or self.runner.busy_text() or "it could not start"
            self.rate_applied.emit(f"The LR finder did not run for trial {trial_id}: {reason}", "warn")
            return False
        self._apply_for = trial_id
        return True

    def _apply_rate(self, result: LrFinderResult | None, trial_id: int) -> None:
        """The rate of the test Apply started goes into the Training tab; without one, the reason and no change."""
        rate = recommended_rate(result) if result is not None and result.status == "completed" else None
        if rate is None or result is None:
            line, kind = text.no_rate_line(result, trial_id), "warn"
        elif self.use_lr(text.rounded_lr(rate)):
            line, kind = text.rate_set_line(text.rounded_lr(rate), result, trial_id), "ok"
        else:
            line, kind = self.message.text(), "error"
        self._show(line, kind)
        self.rate_applied.emit(line, kind)

    # ---- its job, from the runner ------------------------------------------------------------
    def on_job_events(self, events: list) -> None:
        self.plot.handle_events(events)
        for e in events:
            if isinstance(e, LrFinderStep):
                self.progress.setValue(min(self.progress.maximum(), self._done_before + e.iteration))
            elif isinstance(e, LrVerifyEpoch):
                self.progress.setValue(min(self.progress.maximum(), e.done))
            elif isinstance(e, LrVerifyStarted):
                self._verify_started(e)
            elif isinstance(e, LrFinderStarted):
                self._done_before = (e.repeat - 1) * e.iterations
                self.progress.setMaximum(e.iterations * e.repeats)
                seed = f", seed {e.repeat} of {e.repeats}" if e.repeats > 1 else ""
                self._show(
                    f"LR finder run {e.trial_id}{seed}: learning rate {text.format_lr(e.start_lr)} → "
                    f"{text.format_lr(e.end_lr)} over {e.iterations} iterations ({e.mode})"
                )
        self.events_received.emit(events)

    def _verify_started(self, e: LrVerifyStarted) -> None:
        self.progress.setFormat(VERIFY_FORMAT)
        self.progress.setMaximum(max(1, e.total_epochs))
        self.progress.setValue(0)
        self._show(text.verify_started_line(e))

    def _take_outcome(self, outcome: JobOutcome) -> None:
        self.plot.stop_live()
        result = outcome.result
        if isinstance(result, LrFinderResult):
            self._show_result(result)
            if result.status == "completed" and result.verified is None:
                self._show_iterations_run(sum(len(c.lrs) for c in result.curves))
            elif result.status == "completed":
                self.progress.setValue(self.progress.maximum())

    def on_job_outcome(self, outcome: JobOutcome) -> None:
        super().on_job_outcome(outcome)
        trial_id, self._apply_for = self._apply_for, None
        if trial_id is not None:
            result = outcome.result if isinstance(outcome.result, LrFinderResult) else None
            # once the window has let every tab go again, so the line it shows is not replaced at once
            QTimer.singleShot(0, self, lambda: self._apply_rate(result, trial_id))

    def _show_iterations_run(self, run: int) -> None:
        """A completed test fills the bar with the iterations it ran: a sweep stops where the loss blows up, so
        it may end before the planned count, and the bar says so instead of claiming all of them."""
        planned = self.progress.maximum()
        self.progress.setMaximum(max(run, 1))
        self.progress.setValue(run)
        self.progress.setFormat(
            f"{run} iterations" if run >= planned else f"{run} of {planned} iterations: ended where the loss blew up"
        )

    def _outcome_line(self, outcome: JobOutcome) -> tuple[str, str]:
        return text.describe_outcome(outcome)

    # ---- earlier tests -----------------------------------------------------------------------
    def _stored_rows(self) -> list[tuple[int, str]]:
        return stored_lr_finder_runs(self.store_url)

    def earlier_tests(self) -> list[tuple[int, str]]:
        return self.earlier.rows()

    def _read_earlier(self, trial_id: int) -> LrFinderResult:
        return stored_lr_finder_run(trial_id, self.store_url)

    def _earlier_unreadable(self, trial_id: int, text: str) -> None:
        self._show(f"Could not load LR finder run {trial_id}: {text}", "error")

    def _show_earlier(self, trial_id: int, result: LrFinderResult) -> bool:
        """Show a stored test's curve, markers and suggestions."""
        self._show_result(result)
        if result.settings:  # the form shows what this test ran with, so Run repeats it
            self.form.set_settings(LrFinderSettings.from_dict(result.settings))
        self.earlier.mark(trial_id)
        self._show(
            f"Showing LR finder run {trial_id} ({result.status})" + (f": {result.message}" if result.message else "")
        )
        return True

    # ---- helpers -----------------------------------------------------------------------------
    def _show_result(self, result: LrFinderResult) -> None:
        self.plot.show_result(result)
        self.suggestions.show_result(result)
        self.verify.show_verified(result.verified)
