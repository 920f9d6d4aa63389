"""Train / Pause / Stop buttons, epoch and batch progress bars, and the run's message line."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

_STYLES = {"info": "", "ok": "color: #1b5e20;", "warn": "color: #8a5a00;", "error": "color: #b00020;"}
# A finished trial's status -> the style of the line that says how it ended (training and range tests).
STATUS_KIND = {"completed": "ok", "stopped": "warn", "diverged": "error", "failed": "error"}
TRAIN_TIP = "Start training (Ctrl+Return)"


class RunPanel(QWidget):
    train_clicked = Signal()
    pause_clicked = Signal()
    stop_clicked = Signal()
    queue_clicked = Signal()  # Run on workers: queue the form's config (app/queue_for_workers.py)
    evaluation_clicked = Signal(int)  # the finished trial's id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.train_button = QPushButton("&Train")
        self.train_button.setToolTip(TRAIN_TIP)
        self.pause_button = QPushButton("&Pause")
        self.pause_button.setToolTip("Pause or resume between batches")
        self.stop_button = QPushButton("&Stop")
        self.stop_button.setToolTip("Stop before the next batch (Esc); the trial is kept as stopped")
        self.queue_button = QPushButton("Queue for workers")
        self.queue_button.setToolTip("Run on workers: queue this config in the store instead of training it here")
        self.queue_button.setAutoDefault(False)
        self.queue_button.clicked.connect(self.queue_clicked)
        self.evaluation_button = QPushButton("Evaluation…")
        self.evaluation_button.setToolTip("The finished run's confusion matrix, per-class metrics and mistakes")
        self.evaluation_button.setVisible(False)  # until a run has finished with a model to evaluate
        self.evaluation_button.clicked.connect(lambda: self.evaluation_clicked.emit(self._evaluated_trial))
        self._evaluated_trial = 0
        self.train_button.clicked.connect(self.train_clicked)
        self.pause_button.clicked.connect(self.pause_clicked)
        self.stop_button.clicked.connect(self.stop_clicked)

        self.epoch_bar = QProgressBar()
        self.epoch_bar.setFormat("epoch %v / %m")
        self.batch_bar = QProgressBar()
        self.batch_bar.setFormat("batch %v / %m")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextSelectableByMouse)

        buttons = QHBoxLayout()
        for b in (self.train_button, self.pause_button, self.stop_button, self.queue_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.evaluation_button)
        bars = QGridLayout()
        bars.addWidget(QLabel("Epochs"), 0, 0)
        bars.addWidget(self.epoch_bar, 0, 1)
        bars.addWidget(QLabel("Batches"), 1, 0)
        bars.addWidget(self.batch_bar, 1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addLayout(bars)
        layout.addWidget(self.message)
        self.set_running(False, can_train=True)

    def set_running(self, running: bool, can_train: bool) -> None:
        self.train_button.setEnabled(not running and can_train)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        if not running:
            self.set_paused(False)

    def offer_evaluation(self, trial_id: int | None) -> None:
        """Show the Evaluation button for `trial_id` (a run that finished with its weights), or hide it."""
        self._evaluated_trial = trial_id or 0
        self.evaluation_button.setVisible(trial_id is not None)

    def set_paused(self, paused: bool) -> None:
        self.pause_button.setText("Res&ume" if paused else "&Pause")  # Alt+R is the Run menu

    def set_progress(self, epochs: int, epoch: int, steps: int, batch: int) -> None:
        self.epoch_bar.setMaximum(max(1, epochs))
        self.epoch_bar.setValue(epoch)
        self.batch_bar.setMaximum(max(1, steps))
        self.batch_bar.setValue(batch)

    def show_message(self, text: str, kind: str = "info") -> None:
        show_message(self.message, text, kind)


def show_message(label: QLabel, text: str, kind: str = "info") -> None:
    """A message line in one of the run styles (info, ok, warn, error); `kind` stays readable as a property."""
    label.setText(text)
    label.setStyleSheet(_STYLES[kind])
    label.setProperty("kind", kind)
