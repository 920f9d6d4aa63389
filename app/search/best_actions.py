"""What to do with a search's best trials once it has ended: train the best config, re-run the top three with three
seeds for a robust rank, or combine the top K into an ensemble. The tab and the window carry them out."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from app.job_tab import push_button

RERUN_TOP = 3
RERUN_SEEDS = 3
DEFAULT_TOP_K = 5
MAX_TOP_K = 50


class BestActions(QGroupBox):
    apply_clicked = Signal()
    rerun_clicked = Signal()
    ensemble_clicked = Signal(int)  # K

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Best trials", parent)
        self.apply_button = push_button("Apply &best", "Put the best trial's config into the Training tab")
        self.rerun_button = push_button(
            f"Re-r&un top {RERUN_TOP} with {RERUN_SEEDS} seeds",
            f"Train the {RERUN_TOP} best configs again with {RERUN_SEEDS} new seeds each (History tab): the "
            "Robust column then ranks them by mean ± std",
        )
        self.ensemble_button = push_button(
            "Build e&nsemble from top", "Combine the best K completed trials in the Ensembles tab"
        )
        self.top_k = QSpinBox()
        self.top_k.setRange(2, MAX_TOP_K)
        self.top_k.setValue(DEFAULT_TOP_K)
        self.top_k.setToolTip("K: how many of the best completed trials the ensemble combines")
        self.note = QLabel("Run a search, or choose an earlier one.")
        self.note.setWordWrap(True)
        ensemble = QHBoxLayout()
        ensemble.addWidget(self.ensemble_button)
        ensemble.addWidget(self.top_k)
        ensemble.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.apply_button)
        layout.addWidget(self.rerun_button)
        layout.addLayout(ensemble)
        layout.addWidget(self.note)
        self.apply_button.clicked.connect(self.apply_clicked)
        self.rerun_button.clicked.connect(self.rerun_clicked)
        self.ensemble_button.clicked.connect(lambda: self.ensemble_clicked.emit(self.top_k.value()))
        self.set_usable(False, "Run a search, or choose an earlier one.")

    def set_usable(self, usable: bool, note: str = "") -> None:
        """Enabled while a search with a completed trial is on show and no job runs; `note` says why not."""
        for w in (self.apply_button, self.rerun_button, self.ensemble_button, self.top_k):
            w.setEnabled(usable)
        self.note.setText(note)
        self.note.setVisible(bool(note))
