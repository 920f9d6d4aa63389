"""The Predict tab: choose a stored trial (or open an ensemble file), open or drop images, a folder or a CSV file,
and read the predicted class, its probability and the top three per input; Export CSV writes them.

The prediction runs as an engine job through the window's JobRunner, so it waits while another job runs and never
blocks the window. A problem with the whole input is one line under the buttons; a row or file that could not be
predicted says why in its own row, and the others are still predicted."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.job_runner import EngineJob, JobRunner
from app.job_tab import push_button
from app.predict.predict_jobs import predict_job, stored_models, write_predictions
from app.predict.results_table import ResultsTable
from app.store_reader import StoreReader
from app.training.run_panel import show_message
from app.worker import JobOutcome, one_line

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp);;All files (*)"
CSV_FILTER = "CSV files (*.csv *.tsv *.txt);;All files (*)"
ENSEMBLE_FILTER = "TuneLab ensembles (*.tlens);;All files (*)"
FILE_ITEM = "file"  # the combo's data of an ensemble file entry is ("file", path); a stored trial's is its id


class PredictTab(QWidget):
    predicted = Signal(object)  # the PredictionTable now shown

    def __init__(self, runner: JobRunner, store_url: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.store_url = store_url
        self.inputs: list[str] = []
        self.table = None  # the PredictionTable on show
        self._engine_ready = False
        self._reader: StoreReader | None = None
        self.setAcceptDrops(True)

        self.model_combo = QComboBox()
        self.model_combo.setToolTip("The stored trial (a training run or an ensemble) that predicts")
        self.model_combo.setMinimumContentsLength(40)
        self.model_label = QLabel("Mo&del:")
        self.model_label.setBuddy(self.model_combo)
        self.ensemble_button = push_button("E&nsemble file…", "Predict with an ensemble file (.tlens)")
        self.images_button = push_button("&Open images…", "Choose image files to predict")
        self.folder_button = push_button("Open &a folder…", "Predict every image in a folder (and its sub-folders)")
        self.csv_button = push_button("Open a C&SV file…", "Predict every row of a CSV file with the model's columns")
        self.predict_button = push_button("&Predict", "Predict the chosen input with the chosen model")
        self.export_button = push_button("E&xport CSV…", "Write the predictions to a CSV file")
        self.input_label = QLabel("No input yet: open or drop images, a folder, or a CSV file here.")
        self.input_label.setWordWrap(True)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.results = ResultsTable()
        self._lay_out()

        self.ensemble_button.clicked.connect(self._open_ensemble_dialog)
        self.images_button.clicked.connect(self._open_images_dialog)
        self.folder_button.clicked.connect(self._open_folder_dialog)
        self.csv_button.clicked.connect(self._open_csv_dialog)
        self.predict_button.clicked.connect(self.start)
        self.export_button.clicked.connect(self._export_dialog)
        self.model_combo.currentIndexChanged.connect(lambda _i: self._refresh_state())
        runner.started.connect(lambda _job: self._refresh_state())
        runner.finished.connect(lambda _job, _outcome: self.refresh_models())  # a job may have stored new trials
        self._refresh_state()

    def _lay_out(self) -> None:
        model_row = QHBoxLayout()
        model_row.addWidget(self.model_label)
        model_row.addWidget(self.model_combo, 1)
        model_row.addWidget(self.ensemble_button)
        input_row = QHBoxLayout()
        for b in (self.images_button, self.folder_button, self.csv_button):
            input_row.addWidget(b)
        input_row.addStretch(1)
        input_row.addWidget(self.predict_button)
        input_row.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addLayout(model_row)
        layout.addLayout(input_row)
        layout.addWidget(self.input_label)
        layout.addWidget(self.message)
        layout.addWidget(self.results, 1)

    # ---- the model -----------------------------------------------------------------------------
    def set_engine_ready(self) -> None:
        """The engine is imported: the store's models can be listed."""
        self._engine_ready = True
        self.refresh_models()

    def refresh_models(self) -> None:
        """List the stored trials that can predict, keeping the current choice (and any ensemble files)."""
        if not self._engine_ready:
            return
        url = self.store_url
        self.reader.submit(  # off the GUI thread: the store may be a slow database
            "models",
            lambda: stored_models(url),
            self._models_listed,
            lambda line: self._show(f"Cannot list the stored models: {line}", "error"),  # keep what is listed
        )

    @property
    def reader(self) -> StoreReader:
        if self._reader is None:
            self._reader = StoreReader(self)
        return self._reader

    def _models_listed(self, rows: list[tuple[int, str]]) -> None:
        current = self.model_combo.currentData()  # read as the answer arrives: the user may have chosen meanwhile
        files = [self.model_combo.itemData(i) for i in range(self.model_combo.count())]
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for data in files:
            if isinstance(data, tuple):
                self.model_combo.addItem(f"Ensemble file: {Path(data[1]).name}", data)
        for trial_id, label in rows:
            self.model_combo.addItem(label, trial_id)
        index = self.model_combo.findData(current)
        self.model_combo.setCurrentIndex(max(0, index))
        self.model_combo.blockSignals(False)
        self._refresh_state()

    def choose_trial(self, trial_id: int) -> bool:
        index = self.model_combo.findData(trial_id)
        if index >= 0:
            self.model_combo.setCurrentIndex(index)
        return index >= 0

    def choose_ensemble_file(self, path: str) -> None:
        data = (FILE_ITEM, str(path))
        if self.model_combo.findData(data) < 0:
            self.model_combo.insertItem(0, f"Ensemble file: {Path(path).name}", data)
        self.model_combo.setCurrentIndex(self.model_combo.findData(data))

    # ---- the input -----------------------------------------------------------------------------
    def set_input(self, paths: list[str]) -> None:
        """The files or the folder to predict; a new input clears the last predictions."""
        self.inputs = [str(p) for p in paths]
        if len(self.inputs) == 1:
            self.input_label.setText(f"Input: {self.inputs[0]}")
        else:
            self.input_label.setText(f"Input: {len(self.inputs)} files in {Path(self.inputs[0]).parent}")
        self.show_table(None)
        self._refresh_state()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and all(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.set_input(paths)
            if self.predict_button.isEnabled():
                self.start()

    # ---- predicting ----------------------------------------------------------------------------
    def start(self) -> bool:
        """Predict the input with the chosen model, as an engine job; False (with the reason shown) if it cannot."""
        data = self.model_combo.currentData()
        if data is None or not self.inputs:
            self._show("Choose a model and an input first.", "warn")
            return False
        if isinstance(data, tuple):
            job = predict_job(self.inputs, ensemble_file=data[1], store_url=self.store_url)
        else:
            job = predict_job(self.inputs, trial_id=int(data), store_url=self.store_url)
        return self._launch(job)

    def _launch(self, job: EngineJob) -> bool:
        if not self.runner.start(job, self):
            self._show(self.runner.busy_text(), "warn")
            return False
        self._show(f"Predicting with {self.model_combo.currentText()}…")
        self._refresh_state()
        return True

    def on_job_events(self, events: list) -> None:
        """A prediction sends no events; its table comes with the outcome."""

    def on_job_outcome(self, outcome: JobOutcome) -> None:
        self._engine_ready = True
        if outcome.error or outcome.result is None:
            self.show_table(None)
            self._show(outcome.error or "The prediction returned nothing.", "error")
            return
        table = outcome.result
        self.show_table(table)
        self._show(*summary_line(table))
        self.predicted.emit(table)

    def show_table(self, table: object) -> None:
        self.table = table  # type: ignore[assignment]
        self.results.show_table(table)
        self._refresh_state()

    # ---- export --------------------------------------------------------------------------------
    def export_csv(self, path: str) -> bool:
        if self.table is None:
            return False
        try:
            written = write_predictions(self.table, path)
        except Exception as exc:
            self._show(one_line(exc), "error")
            return False
        self._show(f"Predictions written to {written}", "ok")
        return True

    # ---- dialogs -------------------------------------------------------------------------------
    def _open_ensemble_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open an ensemble file", "", ENSEMBLE_FILTER)
        if path:
            self.choose_ensemble_file(path)

    def _open_images_dialog(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open images to predict", "", IMAGE_FILTER)
        if paths:
            self.set_input(paths)

    def _open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a folder of images to predict")
        if path:
            self.set_input([path])

    def _open_csv_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a CSV file to predict", "", CSV_FILTER)
        if path:
            self.set_input([path])

    def _export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the predictions", "predictions.csv", CSV_FILTER)
        if path:
            self.export_csv(path)

    # ---- state ---------------------------------------------------------------------------------
    def _refresh_state(self) -> None:
        ready = self.model_combo.currentData() is not None and bool(self.inputs)
        self.predict_button.setEnabled(ready and self.runner.idle)
        self.export_button.setEnabled(self.table is not None and bool(getattr(self.table, "rows", ())))
        if not self.runner.idle and not self.runner.runs_for(self):
            self.predict_button.setToolTip(self.runner.busy_text())
        else:
            self.predict_button.setToolTip("Predict the chosen input with the chosen model")

    def _show(self, text: str, kind: str = "info") -> None:
        show_message(self.message, text, kind)


def summary_line(table: object) -> tuple[str, str]:
    """The message after a prediction: how many inputs were predicted, the accuracy when known, the first error."""
    rows = getattr(table, "rows", ())
    predicted = getattr(table, "predicted", 0)
    errors: list[str] = getattr(table, "errors", [])
    text = f"{getattr(table, 'model', '')}: {predicted} of {len(rows)} inputs predicted"
    accuracy = getattr(table, "accuracy", None)
    if accuracy is not None:
        text += f"; accuracy {accuracy:.4f} where the true class is known"
    if errors:
        more = f" (and {len(errors) - 1} more, see the Problem column)" if len(errors) > 1 else ""
        return f"{text}. Not predicted: {errors[0]}{more}", "warn"
    return text, "ok"
