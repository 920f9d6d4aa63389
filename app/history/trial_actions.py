"""What can be done with selected trials: clone a config into the training form, apply a diagnosis's
intervention, delete (asking first), export as CSV or JSON, copy the config as TOML.

The actions are QActions, so the buttons, the table's context menu and its keys (Delete, Ctrl+C) share them.
Putting a config into the form and switching tabs is the window's business: this only says what was chosen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox, QWidget

from app.history.trial_source import TrialSource
from app.history.trial_text import config_toml, id_list, run_config
from app.store_reader import StoreReader
from app.worker import one_line
from trainers.spec.errors import ConfigError

EXPORT_FILTERS = {"csv": "CSV file (*.csv)", "json": "JSON file (*.json)"}


class TrialActions(QObject):
    config_chosen = Signal(object, str, str)  # RunConfig, message, tab to show ("training" or "lr_finder")
    rate_search_requested = Signal(object, str, int)  # RunConfig, message, trial id: run the LR finder, use its rate
    tab_requested = Signal(str, str)  # tab ("ensembles"), message
    trials_deleted = Signal(list)  # ids removed from the store
    model_export_requested = Signal(int, str)  # trial id, the folder its export folder goes into
    report_requested = Signal(int, str)  # trial id, the HTML file its report goes to
    message = Signal(str, str)  # text, kind (info, ok, warn, error)

    def __init__(
        self,
        parent: QWidget,
        selected: Callable[..., list[Any]],
        source: Callable[[], TrialSource | None],
        reader: Callable[[], StoreReader | None],
    ) -> None:
        super().__init__(parent)
        self._parent = parent
        self._selected = selected  # selected(limit=None): the selected trials (TrialRecords), the current one first
        self._source = source
        self._reader = reader  # the tab's reader thread (open with the source), for exports (store reads)
        self.clone = self._action(
            "C&lone into training form", "Put the trial's config into the Training tab", self.clone_selected
        )
        self.delete = self._action(
            "&Delete…",
            "Delete the selected trials and their checkpoints (Delete)",
            self.delete_selected,
            QKeySequence.StandardKey.Delete,
        )
        self.export_csv = self._action(
            "Export C&SV…",
            "Write the selected trials to a CSV file (config flattened)",
            lambda: self.export_selected("csv"),
        )
        self.export_json = self._action(
            "Export &JSON…",
            "Write the selected trials, with their epochs, to JSON",
            lambda: self.export_selected("json"),
        )
        self.export_model = self._action(
            "Export &model…",
            "Write the trial's model to a folder: ONNX, torch.export, signature.json and predict.py, checked with "
            "ONNX Runtime",
            self.export_model_selected,
        )
        self.report = self._action(
            "Re&port…",
            "Write one self-contained HTML report of the trial, ensemble or search (curves, diagnosis, evaluation)",
            self.report_selected,
        )
        self.copy_toml = self._action(
            "Copy config as &TOML",
            "Copy the trial's config to the clipboard (Ctrl+C)",
            self.copy_selected,
            QKeySequence.StandardKey.Copy,
        )

    def _action(
        self, text: str, tip: str, slot: Callable[[], Any], shortcut: QKeySequence.StandardKey | None = None
    ) -> QAction:
        action = QAction(text, self)
        action.setToolTip(tip)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)  # only in the table
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def all(self) -> list[QAction]:
        exports = [self.export_csv, self.export_json, self.export_model, self.report]
        return [self.clone, self.copy_toml, *exports, self.delete]

    def update_enabled(self, count: int) -> None:
        for action in self.all():
            action.setEnabled(count >= 1)

    # ---- configs ------------------------------------------------------------------------------
    def clone_selected(self) -> bool:
        trials = self._selected(limit=1)
        if not trials:
            return False
        trial = trials[0]
        try:
            cfg = run_config(trial)
        except ConfigError as err:
            self.message.emit(f"Cannot clone trial {trial.id}: {err}", "error")
            return False
        self.config_chosen.emit(cfg, f"config from trial {trial.id}: ready to train", "training")
        return True

    def apply(self, trial: Any, intervention: Any) -> bool:
        """A diagnosis's suggestion: the config changed as it says; the LR finder runs on the trial's config and
        sets its rate (the window does it in the LR finder tab); ensembles are a tab."""
        if intervention.key == "ensemble":
            self.tab_requested.emit("ensembles", f"{intervention.title}: combine trained trials in the Ensembles tab")
            return True
        try:
            cfg = intervention.apply(run_config(trial))
        except ConfigError as err:
            self.message.emit(f"Cannot apply “{intervention.title}” to trial {trial.id}: {err}", "error")
            return False
        if intervention.key == "lr_finder":
            self.rate_search_requested.emit(
                cfg, f"config from trial {trial.id}: running the LR finder to set its learning rate", trial.id
            )
        else:
            self.config_chosen.emit(
                cfg, f"config from trial {trial.id} with {intervention.title.lower()}: ready to train", "training"
            )
        return True

    def copy_selected(self) -> bool:
        trials = self._selected(limit=1)
        if not trials:
            return False
        QApplication.clipboard().setText(config_toml(trials[0]))
        self.message.emit(f"Config of trial {trials[0].id} copied as TOML", "ok")
        return True

    # ---- the store ----------------------------------------------------------------------------
    def delete_selected(self) -> bool:
        trials, source = self._selected(), self._source()
        if not trials or source is None:
            return False
        running = [t.id for t in trials if t.running]
        if running:
            self.message.emit(f"Cannot delete {id_list(running)}: still running. Stop the run first.", "warn")
            return False
        ids = [t.id for t in trials]
        answer = QMessageBox.question(
            self._parent,
            "Delete trials?",
            f"Delete {id_list(ids, limit=20)}, with {'its' if len(ids) == 1 else 'their'} epochs and checkpoints? "
            "This cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return False
        deleted: list[int] = []
        try:
            for trial_id in ids:
                source.delete(trial_id)
                deleted.append(trial_id)
        except Exception as exc:
            self.message.emit(f"Deleted {len(deleted)} of {len(ids)} trials; then: {one_line(exc)}", "error")
        else:
            self.message.emit(f"Deleted {id_list(ids)}", "ok")
        if deleted:
            self.trials_deleted.emit(deleted)
        return len(deleted) == len(ids)

    def report_selected(self) -> bool:
        """Ask for the report's file name; the window's job runner writes it."""
        trials = self._selected(limit=1)
        if not trials:
            return False
        trial_id = trials[0].id
        path, _ = QFileDialog.getSaveFileName(
            self._parent, f"Report of trial {trial_id}", f"report-{trial_id}.html", "HTML file (*.html)"
        )
        if not path:
            return False
        if not path.lower().endswith((".html", ".htm")):
            path += ".html"
        self.report_requested.emit(trial_id, path)
        return True

    def export_model_selected(self) -> bool:
        """Ask where the current trial's export folder goes; the window's job runner writes it."""
        trials = self._selected(limit=1)
        if not trials:
            return False
        folder = QFileDialog.getExistingDirectory(
            self._parent, f"Export trial {trials[0].id}: choose where its folder (trial-{trials[0].id}) goes"
        )
        if not folder:
            return False
        self.model_export_requested.emit(trials[0].id, folder)
        return True

    def export_selected(self, fmt: str) -> Path | None:
        trials, source, reader = self._selected(), self._source(), self._reader()
        if not trials or source is None or reader is None:
            return None
        ids = [t.id for t in trials]
        default = f"trial-{ids[0]}.{fmt}" if len(ids) == 1 else f"trials.{fmt}"
        path, _ = QFileDialog.getSaveFileName(
            self._parent, f"Export {id_list(ids)} as {fmt.upper()}", default, EXPORT_FILTERS[fmt]
        )
        if not path:
            return None
        if not path.lower().endswith(f".{fmt}"):
            path += f".{fmt}"
        # the trials and their epochs are store reads: on the tab's reader thread, as every other read
        self.message.emit(f"Exporting {id_list(ids)} to {path}…", "info")
        reader.submit(
            "",
            lambda: source.export(ids, path),
            lambda written: self.message.emit(f"Exported {id_list(ids)} to {written}", "ok"),
            lambda line: self.message.emit(f"Could not export: {line}", "error"),
        )
        return Path(path)
