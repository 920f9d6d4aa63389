"""The main window: tabs, menus, keyboard shortcuts and the status bar. It composes; it computes nothing."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QMenu, QMessageBox, QTabWidget, QWidget

from app.ensembles import EnsembleTab
from app.gui_thread_gc import collect_on_gui_thread
from app.history import HistoryTab
from app.recent_files import recent_configs, remember_config
from app.lr_finder.lr_finder_tab import LrFinderTab
from app.training.training_tab import TrainingTab
from trainers.spec.config import RunConfig, load_config, save_config
from trainers.spec.errors import ConfigError

CONFIG_FILTER = "Run configs (*.toml *.json);;TOML (*.toml);;JSON (*.json)"
# One job at a time: what the other tab says while one runs.
TRAINING_BUSY = "Training is running: the range test can start once it has finished or been stopped."
RANGE_TEST_BUSY = "A learning-rate range test is running (LR finder tab): training can start once it has ended."
RERUN_BUSY = "Re-runs with other seeds are running (History tab): this can start once they have ended."
HISTORY_TRAINING_BUSY = "Training is running: re-runs can start once it has ended."
HISTORY_RANGE_TEST_BUSY = "A range test is running: re-runs can start once it has ended."
ENSEMBLE_BUSY = "An ensemble is being built (Ensembles tab): this can start once it has ended."
ENSEMBLE_TRAINING_BUSY = "Training is running: the ensemble can be built once it has ended."
ENSEMBLE_RANGE_TEST_BUSY = "A range test is running (LR finder tab): the ensemble can be built once it has ended."
PLOT_TITLES = {"loss": "Loss", "accuracy": "Accuracy", "lr": "Learning rate", "gap": "Generalisation gap",
               "grad_norm": "Gradient norm"}


class MainWindow(QMainWindow):
    def __init__(self, store_url: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        collect_on_gui_thread()  # worker threads must never destroy Qt objects: see app/gui_thread_gc.py
        self.config_path: Path | None = None
        self._close_after_run = False
        self.training = TrainingTab(store_url)
        self.lr_finder = LrFinderTab(self.training, store_url)
        self.history = HistoryTab(store_url)
        self.ensembles = EnsembleTab(self.training, store_url, self._history_selection)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.training, "Trainin&g")  # Alt+T is the Train button
        self.tabs.addTab(self.lr_finder, "&LR finder")
        self.tabs.addTab(self.history, "Histor&y")  # Alt+H is the Help menu
        self.tabs.addTab(self.ensembles, "&Ensembles")
        self.setCentralWidget(self.tabs)
        self.run_status = QLabel()
        self.statusBar().addPermanentWidget(self.run_status)
        self.statusBar().showMessage("Loading the training engine…")
        self._build_menus()
        self.training.status_changed.connect(self.run_status.setText)
        # One job at a time: while one runs, the others say why they wait.
        busy = {self.training: {self.lr_finder: TRAINING_BUSY, self.history: HISTORY_TRAINING_BUSY,
                                self.ensembles: ENSEMBLE_TRAINING_BUSY},
                self.lr_finder: {self.training: RANGE_TEST_BUSY, self.history: HISTORY_RANGE_TEST_BUSY,
                                 self.ensembles: ENSEMBLE_RANGE_TEST_BUSY},
                self.history: {self.training: RERUN_BUSY, self.lr_finder: RERUN_BUSY, self.ensembles: RERUN_BUSY},
                self.ensembles: {self.training: ENSEMBLE_BUSY, self.lr_finder: ENSEMBLE_BUSY,
                                 self.history: ENSEMBLE_BUSY}}
        for job, others in busy.items():
            job.run_started.connect(lambda others=others: self._job_started(others))
            job.run_finished.connect(lambda _o, others=others: self._job_finished(others))
        self.training.events_received.connect(self.history.handle_events)
        self.history.actions.config_chosen.connect(self.use_config)
        self.history.actions.tab_requested.connect(self._show_tab)
        self._sync_run_actions()
        self._update_title()
        self.resize(1360, 860)

    # ---- menus -------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.new_action = self._action(file_menu, "&New config", QKeySequence.New, self.new_config)
        self.open_action = self._action(file_menu, "&Open config…", QKeySequence.Open, self.open_config_dialog)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self.save_action = self._action(file_menu, "&Save config", QKeySequence.Save, self.save_config_action)
        self.save_as_action = self._action(file_menu, "Save config &as…", QKeySequence.SaveAs,
                                           self.save_config_dialog)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", QKeySequence.Quit, self.close)

        run_menu = bar.addMenu("&Run")
        self.train_action = self._action(run_menu, "&Train", QKeySequence("Ctrl+Return"), self.training.start)
        self.train_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        self.pause_action = self._action(run_menu, "&Pause / resume", QKeySequence("Ctrl+P"),
                                         self.training.toggle_pause)
        self.stop_action = self._action(run_menu, "&Stop", QKeySequence(Qt.Key_Escape), self.stop_jobs)

        view_menu = bar.addMenu("&View")
        self.plot_actions: dict[str, QAction] = {}
        for name in self.training.plots.names():
            act = view_menu.addAction(PLOT_TITLES.get(name, name))
            act.setCheckable(True)
            act.setChecked(self.training.plots.is_plot_visible(name))
            act.toggled.connect(lambda on, n=name: self.training.plots.set_plot_visible(n, on))
            self.plot_actions[name] = act

        help_menu = bar.addMenu("&Help")
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
            self.recent_menu.addAction(p).triggered.connect(lambda _c=False, path=p: self.open_config(path))
        if not paths:
            self.recent_menu.addAction("(none yet)").setEnabled(False)

    # ---- config files --------------------------------------------------------------------------
    def new_config(self) -> None:
        self.training.form.set_config(RunConfig())
        self.config_path = None
        self._update_title()

    def open_config_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open run config", self._dialog_dir(), CONFIG_FILTER)
        if path:
            self.open_config(path)

    def open_config(self, path: str | Path) -> bool:
        if self.training.running:
            self._tell("Stop the current run before opening another config.", "warn")
            return False
        try:
            cfg = load_config(path)
        except ConfigError as err:
            self._tell(f"Could not open {path}: {err}", "error")
            return False
        self.training.form.set_config(cfg)
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
        cfg = self.training.form.config()
        if cfg is None:
            self._tell(f"Not saved: {self.training.form.first_error()}", "error")
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
        self._update_title()
        self._tell(f"{verb} {path}", "info")

    def _dialog_dir(self) -> str:
        return str(self.config_path.parent) if self.config_path else str(Path.home())

    # ---- run state -------------------------------------------------------------------------------
    def engine_ready(self) -> None:
        """The engine finished importing in the background: live parameter counts can start."""
        self.training.form.set_engine_ready()
        self.lr_finder.set_engine_ready()
        self.history.set_engine_ready()
        self.ensembles.set_engine_ready()
        self.statusBar().showMessage("Ready", 3000)

    def _job_tabs(self) -> tuple[TrainingTab, LrFinderTab, HistoryTab, EnsembleTab]:
        return self.training, self.lr_finder, self.history, self.ensembles

    @property
    def job_running(self) -> bool:
        return any(tab.running for tab in self._job_tabs())

    def stop_jobs(self) -> None:
        """Stop whichever job runs (Esc): training, the range test, the re-runs or the ensemble."""
        for tab in self._job_tabs():
            tab.stop()

    def wait_for_workers(self, ms: int = 60_000) -> bool:
        """Block until no worker thread is left (used when the app quits)."""
        return all(tab.wait_for_worker(ms) for tab in self._job_tabs())

    def _job_started(self, others: dict[TrainingTab | LrFinderTab | HistoryTab | EnsembleTab, str]) -> None:
        for other, reason in others.items():
            other.set_blocked(reason)
        self._sync_run_actions()

    def _job_finished(self, others: dict[TrainingTab | LrFinderTab | HistoryTab | EnsembleTab, str]) -> None:
        for other in others:
            other.set_blocked("")
        self._sync_run_actions()
        self.history.job_finished()  # the run's final numbers and rank
        if self._close_after_run and not self.job_running:
            self.close()

    # ---- configs from the History tab ----------------------------------------------------------
    def use_config(self, cfg: RunConfig, message: str, tab: str = "training") -> bool:
        """A trial's config (cloned, or changed by an intervention) becomes the form's: a new, unsaved config."""
        if self.training.running:
            self._tell("Stop the current run before loading another config.", "warn")
            return False
        self.training.form.set_config(cfg)
        self.config_path = None
        self._update_title()
        self._show_tab(tab, message)
        return True

    def _show_tab(self, tab: str, message: str) -> None:
        widget = {"training": self.training, "lr_finder": self.lr_finder, "history": self.history,
                  "ensembles": self.ensembles}[tab]
        self.tabs.setCurrentWidget(widget)
        if widget is self.lr_finder or widget is self.ensembles:
            widget.show_message(message, "ok")
        self._tell(message, "ok")

    def _history_selection(self) -> list[tuple[int, str]]:
        """(id, kind) of the trials selected in the History tab, for the Ensembles tab's trial ids."""
        return [(t.id, t.kind) for t in self.history.selected_trials()]

    def _sync_run_actions(self) -> None:
        training = self.training.running
        for act in (self.new_action, self.open_action, self.recent_menu.menuAction()):
            act.setEnabled(not training)
        self.pause_action.setEnabled(training)
        self.stop_action.setEnabled(self.job_running)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if not self.job_running:
            self.history.close_store()
            event.accept()
            return
        event.ignore()  # close once the worker has ended, so no thread outlives the window
        if self._close_after_run or self.confirm_stop_and_close():
            self._close_after_run = True
            self.stop_jobs()

    def confirm_stop_and_close(self) -> bool:
        if self.lr_finder.running:
            title, text = "Stop the range test?", "A learning-rate range test is in progress. Stop it and close?"
        elif self.history.running:
            title, text = "Stop the re-runs?", ("Re-runs with other seeds are in progress. Stop them (the current "
                                                "trial is kept as stopped) and close?")
        elif self.ensembles.running:
            title, text = "Stop the ensemble?", ("An ensemble is being built. Stop it (the ensemble trial is kept as "
                                                 "stopped) and close?")
        else:
            title, text = "Stop training?", "A run is in progress. Stop it (the trial is kept as stopped) and close?"
        answer = QMessageBox.question(self, title, text, QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
        return answer == QMessageBox.Yes

    # ---- helpers -------------------------------------------------------------------------------
    def _tell(self, text: str, kind: str) -> None:
        self.training.panel.show_message(text, kind)
        self.statusBar().showMessage(text, 8000)

    def _update_title(self) -> None:
        name = self.config_path.name if self.config_path else "untitled"
        self.setWindowTitle(f"TuneLab — {name}")

    def _about(self) -> None:
        from app.about_dialog import AboutDialog  # built on first use: the window starts without it
        dialog = AboutDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()  # window-modal, returns at once
