"""The running trial's diagnosis on the Training tab: once a few epochs exist, what the curves say so far
(label and summary), updated after every epoch and settled when the run ends."""

from __future__ import annotations

from typing import Iterable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from app.training.run_panel import show_message
from trainers.spec.config import RunConfig
from trainers.spec.events import EpochEnded, FitEnded, FitStarted

MIN_EPOCHS = 3  # fewer points give no trend to read
_KINDS = {
    "good_fit": "ok",
    "too_noisy": "info",
    "underfitting": "warn",
    "overfitting": "warn",
    "lr_too_high": "error",
    "diverged": "error",
}


class LiveDiagnosis(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setToolTip("What the curves say so far; the History tab shows the evidence and what to try")
        self._config: RunConfig | None = None
        self._num_classes: int | None = None  # from the run's FitStarted: losses are judged against ln(classes)
        self._epochs: list[dict] = []
        self.label = ""  # the diagnosis label on show ("" before MIN_EPOCHS epochs)
        self.start(None)

    def start(self, cfg: RunConfig | None) -> None:
        """A new run of `cfg`: nothing to say until its epochs arrive."""
        self._config = cfg
        self._num_classes = None
        self._epochs = []
        self.label = ""
        self.setText("")
        self.setVisible(False)

    def handle_events(self, events: Iterable[object]) -> None:
        changed, status, diverged_step = False, None, None
        for e in events:
            if isinstance(e, FitStarted):
                self._epochs = []
                self._num_classes = e.num_classes
            elif isinstance(e, EpochEnded):
                self._epochs.append(
                    {
                        "epoch": e.epoch,
                        "train_loss": e.train_loss,
                        "val_loss": e.val_loss,
                        "train_acc": e.train_acc,
                        "val_acc": e.val_acc,
                    }
                )
                changed = True
            elif isinstance(e, FitEnded) and e.status != "failed":  # a crash says nothing about the curves
                changed, status, diverged_step = True, e.status, e.diverged_step
        if changed and (len(self._epochs) >= MIN_EPOCHS or status == "diverged"):
            self._diagnose(status, diverged_step)

    def _diagnose(self, status: str | None, diverged_step: int | None) -> None:
        from trainers.api import diagnose  # already imported by the running job: costs nothing here

        d = diagnose(self._epochs, self._config, status, diverged_step, num_classes=self._num_classes)
        self.label = d.label
        when = "after" if status else "so far, after"
        show_message(
            self,
            f"<b>Diagnosis</b> {when} {len(self._epochs)} epochs: <b>{d.title}</b>. {d.summary}",
            _KINDS.get(d.label, "info"),
        )
        self.setVisible(True)
