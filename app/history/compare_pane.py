"""Several selected trials side by side: their loss and accuracy curves overlaid (one colour each) and a chosen
hyperparameter against the ranking metric."""

from __future__ import annotations

from typing import Any, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from app.plots.epoch_curves import CurveSet, EpochCurves, colour
from app.plots.hyper_scatter import PARAMETERS, HyperScatter, Point

MAX_COMPARED = 12  # beyond a dozen curves sets nobody can tell the colours apart


class ComparePane(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.curves = EpochCurves()
        self.scatter = HyperScatter()
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.curves)
        split.addWidget(self.scatter)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 1)
        split.setSizes([900, 420])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(split, 1)
        self.trial_ids: list[int] = []

    def show_trials(
        self,
        trials: Sequence[Any],
        epochs: dict[int, Sequence[Any]],
        metric_column: str,
        metric_name: str,
        selected: int,
    ) -> None:
        """`trials` (TrialRecords, at most MAX_COMPARED) out of `selected`; `epochs` maps id -> its epochs."""
        self.trial_ids = [t.id for t in trials]
        more = f" (the first {len(trials)} of {selected} selected)" if selected > len(trials) else ""
        self.title.setText(
            f"Comparing {len(trials)} trials{more}: one colour each, training dashed, validation "
            f"solid. Right: a hyperparameter against the {metric_name}."
        )
        self.curves.show_sets([CurveSet(f"#{t.id}", colour(i), epochs.get(t.id, ())) for i, t in enumerate(trials)])
        self.scatter.show_points(
            [
                Point(f"#{t.id}", colour(i), {k: getattr(t, k) for k in PARAMETERS}, getattr(t, metric_column))
                for i, t in enumerate(trials)
            ],
            metric_name,
        )
