"""The main window: tabs, menus, keyboard shortcuts and the status bar. It composes; it computes nothing."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QMenu, QMessageBox, QTabWidget, QWidget

from app import window_state
from app.close_question import CloseQuestion
from app.config_model import ConfigModel
from app.ensembles import EnsembleTab
from app.gui_thread_gc import collect_on_gui_thread
from app.history import HistoryTab
from app.job_runner import EngineJob, JobRunner
from app.lr_finder.lr_finder_tab import LrFinderTab
from app.predict import PredictTab
from app.recent_files import recent_configs, remember_config
from app.search import SearchTab
from app.training.training_tab import TrainingTab
from app.worker import JobOutcome
from trainers.spec.config import RunConfig, load_config, save_config
from trainers.spec.ensemble_settings import EnsembleSettings
from trainers.spec.errors import ConfigError
from trainers.spec.store_events import store_notice

CONFIG_FILTER = "Run configs (*.toml *.json);;TOML (*.toml);;JSON (*.json)"
PLOT_TITLES = {
    "loss": "Loss",
    "accuracy": "Accuracy",
    "lr": "Learning rate",
    "gap": "Generalisation gap",
    "grad_norm": "Gradient norm",
}


class MainWindow(QMainWindow):
    def __init__(self, store_url: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        collect_on_gui_thread()  # worker threads must never destroy Qt objects: see app/gui_thread_gc.py
        self.config_path: Path | None = None
        self._close_after_run = False  # Yes was answered while a job ran: close once it has ended
        self.close_question = CloseQuestion(self, self._close_answered_yes)
        self._failure = ""  # the last job error on show in the status bar
        self.runner = JobRunner(self)  # the one engine job at a time, whichever tab asked for it
        self.training = TrainingTab(self.runner, store_url)
        self.config = ConfigModel(self.training.form, self)  # the run config every tab reads
        self._saved_values = self.training.form.values()  # the config as last opened or saved
        self.config_modified = False  # the form differs from it: "*" in the title, a question before replacing
        self.config.changed.connect(self._update_modified)
        self.lr_finder = LrFinderTab(self.runner, self.config, store_url)
        self.search = SearchTab(self.runner, self.config, store_url)
        self.history = HistoryTab(self.runner, store_url)
        self.ensembles = EnsembleTab(self.runner, self.config, store_url, self._history_selection)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.training, "Trainin&g")  # Alt+T is the Train button
        self.tabs.addTab(self.lr_finder, "&LR finder")
        self.tabs.addTab(self.search, "Sear&ch")  # Alt+S is each tab's Stop button
        self.tabs.addTab(self.history, "Histor&y")  # Alt+H is the Help menu
        self.tabs.addTab(self.ensembles, "&Ensembles")
        self.predict = PredictTab(self.runner, store_url)
        # no Alt letter (each of P, r, e, d, i, c, t is already taken): Alt+6, as every tab has Alt+its number
        self.tabs.addTab(self.predict, "Predict")
        self.setCentralWidget(self.tabs)
        self.run_status = QLabel()
        self.statusBar().addPermanentWidget(self.run_status)
        self.statusBar().showMessage("Loading the training engine…")
        self._build_menus()
        self.training.status_changed.connect(self.run_status.setText)
        self.runner.started.connect(self._job_started)
        self.runner.events.connect(self._job_events)
        self.runner.failed.connect(self._job_failed)
        self.runner.finished.connect(self._job_finished)
        self.history.actions.config_chosen.connect(self.use_config)
        self.history.actions.tab_requested.connect(self._show_tab)
        self.training.evaluation_requested.connect(self._open_evaluation)
        self.training.queued.connect(lambda _trial_id: self.history.job_finished())  # shown as queued
        self.history.actions.rate_search_requested.connect(self.find_rate_for)
        self.lr_finder.rate_applied.connect(self._tell)
        self.search.config_chosen.connect(self.use_config)
        self.search.rerun_requested.connect(self.rerun_trials)
        self.search.ensemble_requested.connect(self.ensemble_from)
        self._sync_run_actions()
        self._update_title()
        window_state.restore(self)  # the last session's size and panes, or one that fits this screen

    # ---- menus -------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.new_action = self._action(file_menu, "&New config", QKeySequence.New, self.new_config)
        self.open_action = self._action(file_menu, "&Open config…", QKeySequence.Open, self.open_config_dialog)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self.save_action = self._action(file_menu, "&Save config", QKeySequence.Save, self.save_config_action)
        self.save_as_action = self._action(file_menu, "Save config &as…", QKeySequence.SaveAs, self.save_config_dialog)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", QKeySequence.Quit, self.close)

        run_menu = bar.addMenu("&Run")
        self.train_action = self._action(run_menu, "&Train", QKeySequence("Ctrl+Return"), self.training.start)
        self.train_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        self.pause_action = self._action(run_menu, "&Pause / resume", QKeySequence("Ctrl+P"), self.toggle_pause)
        self.stop_action = self._action(run_menu, "&Stop", QKeySequence(Qt.Key_Escape), self.stop_jobs)

        view_menu = bar.addMenu("&View")
        self.plot_actions: dict[str, QAction] = {}
        for name in self.training.plots.names():
            act = view_menu.addAction(PLOT_TITLES.get(name, name))
            act.setCheckable(True)
            act.setChecked(self.training.plots.is_plot_visible(name))
            act.toggled.connect(lambda on, n=name: self.training.plots.set_plot_visible(n, on))
            self.plot_actions[name] = act
        view_menu.addSeparator()
        self.tab_actions = [  # Alt+number for every tab, Predict's only key
            self._action(view_menu, f"{self.tabs.tabText(i).replace('&', '')} tab", QKeySequence(f"Alt+{i + 1}"),
                         lambda i=i: self.tabs.setCurrentIndex(i))
            for i in range(self.tabs.count())
        ]  # fmt: skip

        help_menu = bar.addMenu("&Help")
        self.shortcuts_action = self._action(
            help_menu, "&Keyboard shortcuts", QKeySequence.HelpContents, self._shortcuts
        )
        self._action(help_menu, "&About TuneLab", None, self._about)

    def _action(self, menu: QMenu, text: str, shortcut, slot) -> QAction:
        act = menu.addAction(text)
        if shortcut is not None:
            act.setShortcut(shortcut)
        act.triggered.connect(lambda _checked=False: slot())
        return act

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        paths = recent_configs()
        for p in paths:
            self.recent_menu.addAction(p).triggered.connect(
                lambda _c=False, path=p: self.discard_changes_ok() and self.open_config(path)
            )
        if not paths:
            self.recent_menu.addAction("(none yet)").setEnabled(False)

    # ---- config files --------------------------------------------------------------------------
    def new_config(self) -> None:
        if not self.discard_changes_ok():
            return
        self.config.set_config(RunConfig())
        self.config_path = None
        self._mark_saved()

    def open_config_dialog(self) -> None:
        if not self.discard_changes_ok():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open run config", self._dialog_dir(), CONFIG_FILTER)
        if path:
            self.open_config(path)

    def discard_changes_ok(self) -> bool:
        """Before the form's config is replaced: unsaved edits are dropped only when the user says so."""
        if not self.config_modified:
            return True
        answer = QMessageBox.question(
            self,
            "Discard changes?",
            "The config has changes that are not saved. Discard them?",
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Discard

    def _mark_saved(self) -> None:
        self._saved_values = self.training.form.values()
        self._update_title()
        self._update_modified()

    def _update_modified(self) -> None:
        """The title's "*" says the form holds changes that the config file (or a new config) does not."""
        modified = self.training.form.values() != self._saved_values
        if modified != self.config_modified:
            self.config_modified = modified
            self._update_title()

    def open_config(self, path: str | Path) -> bool:
        if self.training.running:
            self._tell("Stop the current run before opening another config.", "warn")
            return False
        try:
            cfg = load_config(path)
        except ConfigError as err:
            self._tell(f"Could not open {path}: {err}", "error")
            return False
        self.config.set_config(cfg)
        self._now_using(path, "Opened")
        return True

    def save_config_action(self) -> None:
        if self.config_path is None:
            self.save_config_dialog()
        else:
            self.save_config(self.config_path)

    def save_config_dialog(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(self, "Save run config", self._dialog_dir(), CONFIG_FILTER)
        if path:
            if not Path(path).suffix:
                path += ".json" if "JSON (" in chosen and "TOML" not in chosen else ".toml"
            self.save_config(path)

    def save_config(self, path: str | Path) -> bool:
        cfg = self.config.config()
        if cfg is None:
            self._tell(f"Not saved: {self.config.first_error()}", "error")
            return False
        try:
            save_config(cfg, path)
        except (ConfigError, OSError) as err:
            self._tell(f"Could not save {path}: {err}", "error")
            return False
        self._now_using(path, "Saved")
        return True

    def _now_using(self, path: str | Path, verb: str) -> None:
        """The config now lives in `path`: title, recent list and a word to the user."""
        self.config_path = Path(path)
        remember_config(path)
        self._mark_saved()
        self._tell(f"{verb} {path}", "info")

    def _dialog_dir(self) -> str:
        return str(self.config_path.parent) if self.config_path else str(Path.home())

    # ---- run state -------------------------------------------------------------------------------
    def engine_ready(self) -> None:
        """The engine finished importing in the background: live parameter counts can start."""
        self.training.form.set_engine_ready()
        self.lr_finder.set_engine_ready()
        self.search.set_engine_ready()
        self.history.set_engine_ready()
        self.ensembles.set_engine_ready()
        self.predict.set_engine_ready()
        self.statusBar().showMessage("Ready", 3000)

    def _job_tabs(self) -> tuple[TrainingTab, LrFinderTab, SearchTab, HistoryTab, EnsembleTab]:
        return self.training, self.lr_finder, self.search, self.history, self.ensembles

    @property
    def job_running(self) -> bool:
        return not self.runner.idle

    def toggle_pause(self) -> None:
        """Ctrl+P: pause or resume the training run or the search, whichever runs."""
        if self.training.running:
            self.training.toggle_pause()
        elif self.search.running:
            self.search.toggle_pause()

    def stop_jobs(self) -> None:
        """Stop whichever job runs (Esc): the tab it belongs to says so, and the runner stops it in any case."""
        for tab in self._job_tabs():
            tab.stop()
        self.runner.stop()

    def wait_for_workers(self, ms: int = 60_000) -> bool:
        """Block until the job's thread has ended (used when the app quits)."""
        return self.runner.wait(ms)

    def _job_started(self, job: EngineJob) -> None:
        """One job at a time: every other tab waits, saying why in the running job's words."""
        for tab in self._job_tabs():
            if not tab.running:
                tab.set_blocked(job.busy_text())
        if self.statusBar().currentMessage() == self._failure:
            self.statusBar().clearMessage()  # the last job's error is not this one's
        self.close_question.follow(job)
        if not self.training.running:  # training writes its own progress there
            verb = "are" if job.plural else "is"
            self.run_status.setText(f"{job.label} {verb} running ({job.tab} tab)…")
        self._sync_run_actions()

    def _job_events(self, _job: EngineJob, events: list) -> None:
        self.history.handle_events(events)  # trials being trained appear and move in the table, live
        notice = store_notice(events)  # "store unreachable, retrying" while the run's store is away; then "back"
        if notice is not None:
            self.statusBar().showMessage(notice)

    def _job_failed(self, _job: EngineJob, line: str) -> None:
        """Where every job's error reaches the user beside its tab's own message line: the status bar."""
        self._failure = line
        self.statusBar().showMessage(line)

    def _job_finished(self, job: EngineJob, _outcome: JobOutcome) -> None:
        if self.run_status.text().startswith(job.label):
            self.run_status.setText(f"{job.label} ended.")
        for tab in self._job_tabs():
            tab.set_blocked("")
        self._sync_run_actions()
        self.history.job_finished()  # the run's final numbers and rank
        self.close_question.follow(self.runner.job)
        if self._close_after_run and not self.job_running:
            self._close_after_run = False
            self.close()

    # ---- configs from the History tab ----------------------------------------------------------
    def use_config(self, cfg: RunConfig, message: str, tab: str = "training") -> bool:
        """A trial's config (cloned, or changed by an intervention) becomes the form's: a new, unsaved config."""
        if self.training.running:
            self._tell("Stop the current run before loading another config.", "warn")
            return False
        self.config.set_config(cfg)
        self.config_path = None
        self._mark_saved()  # a trial's config, as the trial ran it: nothing of it is an unsaved edit yet
        self._show_tab(tab, message)
        return True

    def find_rate_for(self, cfg: RunConfig, message: str, trial_id: int) -> bool:
        """Apply "run the LR finder": the trial's config into the form, the test run in its tab, and its
        recommended rate set in the Training tab once it ends (the tab says so, or why not)."""
        return self.use_config(cfg, message, "lr_finder") and self.lr_finder.find_and_use(trial_id)

    def rerun_trials(self, trial_ids: list[int], seeds: int, message: str) -> bool:
        """Re-run trials with new seeds (a search's top ones) in the History tab, where their robust rank shows."""
        self.history.rerun.seeds.setValue(seeds)
        if not self.history.rerun.start(trial_ids):
            self._tell(f"The re-runs did not start: {self.runner.busy_text() or 'another job is starting'}", "warn")
            return False
        self.history.show_message(message)
        self._show_tab("history", message)
        return True

    def ensemble_from(self, settings: EnsembleSettings, message: str) -> None:
        """Ensemble settings made elsewhere (a search's top K) into the Ensembles tab, ready to build."""
        self.ensembles.form.set_settings(settings)
        self._show_tab("ensembles", message)

    def _show_tab(self, tab: str, message: str) -> None:
        widget = {
            "training": self.training,
            "lr_finder": self.lr_finder,
            "search": self.search,
            "history": self.history,
            "ensembles": self.ensembles,
        }[tab]
        self.tabs.setCurrentWidget(widget)
        if widget is self.lr_finder or widget is self.ensembles:
            widget.show_message(message, "ok")
        self._tell(message, "ok")

    def _open_evaluation(self, trial_id: int) -> None:
        """A finished run's evaluation, in History's detail pane."""
        self.tabs.setCurrentWidget(self.history)
        self.history.open_evaluation(trial_id)

    def _history_selection(self) -> list[tuple[int, str]]:
        """(id, kind) of the trials selected in the History tab, for the Ensembles tab's trial ids."""
        return [(t.id, t.kind) for t in self.history.selected_trials()]

    def _sync_run_actions(self) -> None:
        training = self.training.running
        for act in (self.new_action, self.open_action, self.recent_menu.menuAction()):
            act.setEnabled(not training)
        self.pause_action.setEnabled(training or self.search.running)
        self.stop_action.setEnabled(self.job_running)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.job_running:
            window_state.save(self)
            self.history.close_store()
            event.accept()
            return
        event.ignore()  # close once the worker has ended, so no thread outlives the window
        if not self._close_after_run:  # already stopping in order to close: nothing more to ask
            self.close_question.ask(self.runner.job)

    def _close_answered_yes(self) -> None:
        """Yes, read against what runs now: stop the job and close once it has ended, or close at once."""
        if self.job_running:
            self._close_after_run = True
            self.stop_jobs()
        else:
            self.close()

    # ---- helpers -------------------------------------------------------------------------------
    def _tell(self, text: str, kind: str) -> None:
        self.training.panel.show_message(text, kind)
        self.statusBar().showMessage(text, 8000)

    def _update_title(self) -> None:
        name = self.config_path.name if self.config_path else "untitled"
        self.setWindowTitle(f"TuneLab — {name}{'*' if self.config_modified else ''}")

    def _shortcuts(self) -> None:
        from app.help_dialog import ShortcutsDialog

        dialog = ShortcutsDialog(self.menuBar(), self, self.tabs)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def _about(self) -> None:
        from app.about_dialog import AboutDialog  # built on first use: the window starts without it

        dialog = AboutDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()  # window-modal, returns at once
