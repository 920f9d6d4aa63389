"""A trial's evaluation in History's detail pane: accuracy, averages and calibration in one line, the confusion
matrix, the reliability diagram, per-class metrics and the most confident mistakes. Loaded in a worker thread when
the view is on show; what the engine stored when the run finished opens at once."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from app.history.evaluation_loader import EvaluationLoader
from app.history.evaluation_plots import ConfusionHeatmap, ReliabilityPlot
from app.history.evaluation_tables import ClassTable, MistakesTable

SPLITS = (("test", "Test split"), ("val", "Validation split"))
EVALUATED_KINDS = ("train", "ensemble")


class EvaluationView(QWidget):
    shown = Signal(int)  # trial id: an evaluation is on show

    def __init__(self, store_url: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loader = EvaluationLoader(store_url, self)
        self.loader.loaded.connect(self._on_loaded)
        self.loader.failed.connect(self._on_failed)
        self.split = QComboBox()
        for key, text in SPLITS:
            self.split.addItem(text, key)
        self.split.activated.connect(lambda _i: self._load(self.split.currentData()))
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.confusion = ConfusionHeatmap()
        self.reliability = ReliabilityPlot()
        self.classes = ClassTable()
        self.mistakes = MistakesTable()
        self.mistakes_title = QLabel("<b>Most confident mistakes</b>")
        self._lay_out()
        self.trial_id: int | None = None
        self.evaluation: Any = None
        self._pending = False  # a trial was chosen while the view was hidden

    def _lay_out(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.split)
        top.addWidget(self.summary, 1)
        pictures = QSplitter(Qt.Orientation.Vertical)
        pictures.addWidget(self.confusion)
        pictures.addWidget(self.reliability)
        pictures.setSizes([600, 300])
        mistakes = QWidget()
        column = QVBoxLayout(mistakes)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.mistakes_title)
        column.addWidget(self.mistakes, 1)
        tables = QSplitter(Qt.Orientation.Vertical)
        tables.addWidget(self.classes)
        tables.addWidget(mistakes)
        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(pictures)
        main.addWidget(tables)
        main.setSizes([520, 480])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(main, 1)

    # ---- what is on show ------------------------------------------------------------------------
    def show_trial(self, trial: Any) -> None:
        """Show `trial`'s evaluation (a TrialRecord): loaded now when the view is on show, else when it is."""
        self.trial_id = trial.id
        self.evaluation = None
        self._clear_content()
        if trial.kind not in EVALUATED_KINDS:
            self._say(f"No evaluation: trial {trial.id} is a {trial.kind} trial, with no model of its own.")
        elif trial.running:
            self._say(f"Trial {trial.id} is still running: its evaluation appears when it finishes.")
        elif self.isVisible():
            self._load(None)
        else:
            self._pending = True
            self._say("")

    def clear(self) -> None:
        self.trial_id = None
        self.evaluation = None
        self._pending = False
        self._clear_content()
        self._say("")

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._pending:
            self._load(None)

    def shut_down(self) -> None:
        self.loader.wait()

    def _load(self, split: str | None) -> None:
        self._pending = False
        if self.trial_id is None:
            return
        self._say(f"Evaluating trial {self.trial_id}…")
        self.loader.load(self.trial_id, split)

    # ---- answers --------------------------------------------------------------------------------
    def _on_loaded(self, trial_id: int, shown: Any) -> None:
        if trial_id != self.trial_id:
            return
        ev = shown.evaluation
        self.evaluation = ev
        self.split.setCurrentIndex(max(0, self.split.findData(ev.split)))
        self._say(
            f"<b>{ev.samples}</b> samples · accuracy <b>{ev.accuracy:.4f}</b> · macro F1 {ev.macro.f1:.4f} · "
            f"weighted F1 {ev.weighted.f1:.4f} · expected calibration error {ev.ece:.4f}"
            + "".join(f"<br>{n}" for n in ev.notes)
        )
        self.confusion.show_evaluation(ev)
        self.reliability.show_evaluation(ev)
        self.classes.show_evaluation(ev)
        self.mistakes.show_evaluation(ev, shown.images)
        self.mistakes_title.setText(
            "<b>Most confident mistakes</b>" if ev.mistakes else "<b>No mistakes</b> on this split"
        )
        self.shown.emit(trial_id)

    def _on_failed(self, trial_id: int, text: str) -> None:
        if trial_id == self.trial_id:
            self._say(f"No evaluation: {text}")

    def _say(self, text: str) -> None:
        self.summary.setText(text)

    def _clear_content(self) -> None:
        self.classes.setRowCount(0)
        self.mistakes.setRowCount(0)
