"""One selected trial: a headline, its diagnosis with Apply buttons, editable notes, its curves and its config."""

from __future__ import annotations

from typing import Any, Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QScrollArea, QSplitter, QTabWidget, QVBoxLayout, QWidget

from app.history.diagnosis_view import DiagnosisView
from app.history.evaluation_view import EvaluationView
from app.history.notes_editor import NotesEditor
from app.history.trial_text import config_toml, headline
from app.plots.epoch_curves import CurveSet, EpochCurves, colour


class TrialDetail(QWidget):
    def __init__(self, store_url: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.headline = QLabel()
        self.headline.setWordWrap(True)
        self.headline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.diagnosis = DiagnosisView()
        self.notes = NotesEditor()
        self.curves = EpochCurves()
        self.config_text = QPlainTextEdit()
        self.config_text.setReadOnly(True)
        self.config_text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.views = QTabWidget()
        self.views.addTab(self.curves, "Curves")
        self.views.addTab(self.config_text, "Config (TOML)")
        self.evaluation = EvaluationView(store_url)  # loads in a worker thread when its tab is on show
        self.views.addTab(self.evaluation, "Evaluation")
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()  # evidence and five interventions outgrow a short window
        scroll.setWidget(self.diagnosis)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        column.addWidget(scroll, 3)
        column.addWidget(self.notes, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(self.views)
        split.setStretchFactor(1, 1)
        split.setSizes([440, 800])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.headline)
        layout.addWidget(split, 1)
        self.trial_id: int | None = None
        self._evaluated_running = False

    def show_trial(self, trial: Any, epochs: Sequence[Any], diagnosis: Any, note: str = "") -> None:
        """Everything about `trial`; its notes are loaded only when another trial was on show, so a live
        refresh never overwrites what is being typed."""
        if trial.id != self.trial_id:
            self.notes.show_notes(trial.id, trial.notes or "")
            self.config_text.setPlainText(config_toml(trial))
            self.trial_id = trial.id
            self.evaluation.show_trial(trial)
            self._evaluated_running = trial.running
        elif self._evaluated_running and not trial.running:  # the run on show has just finished
            self.evaluation.show_trial(trial)
            self._evaluated_running = False
        self.headline.setText(headline(trial))
        self.diagnosis.show_diagnosis(diagnosis, note)
        self.curves.show_sets([CurveSet("", colour(0), epochs)] if epochs else [])

    def clear(self) -> None:
        self.notes.show_notes(None, "")
        self.evaluation.clear()
        self.trial_id = None
