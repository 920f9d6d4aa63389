"""CandidatesView: which stored trials a combining method would use now (read-only), and a button that takes
the trials selected in the History tab instead of the top K."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QLabel, QListWidget, QPushButton, QVBoxLayout, QWidget

from app.training.run_panel import show_message

WAITING = "The trials to combine appear once the training engine has loaded…"
COMBINE_TITLE, CHOOSE_TITLE = "Will c&ombine:", "Will ch&oose from:"


class CandidatesView(QWidget):
    use_selection_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel(COMBINE_TITLE)
        self.list = QListWidget()
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.list.setToolTip(
            "The stored trials this method combines: the top K by the chosen metric, or the trials named in Trial ids"
        )
        self.list.setMaximumHeight(110)
        self.title.setBuddy(self.list)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.use_button = QPushButton("Use History selec&tion")
        self.use_button.setAutoDefault(False)
        self.use_button.setToolTip("Combine the trials selected in the History tab (fills Trial ids)")
        self.use_button.clicked.connect(self.use_selection_clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.title, self.list, self.status, self.use_button):
            layout.addWidget(widget)
        self.show_waiting()

    def set_choosing(self, choosing: bool) -> None:
        """Greedy selection chooses among the listed trials instead of combining them all."""
        self.title.setText(CHOOSE_TITLE if choosing else COMBINE_TITLE)

    def show_waiting(self) -> None:
        self.list.clear()
        show_message(self.status, WAITING)

    def show_candidates(self, rows: list[tuple[int, str]]) -> None:
        self.list.clear()
        for trial_id, label in rows:
            self.list.addItem(label)
            self.list.item(self.list.count() - 1).setData(Qt.ItemDataRole.UserRole, trial_id)
        show_message(self.status, f"{len(rows)} trials" if rows else "No trials to combine.")

    def show_problem(self, reason: str) -> None:
        """Why the method cannot combine anything now (e.g. fewer than two usable trials)."""
        self.list.clear()
        show_message(self.status, reason, "warn")

    def trial_ids(self) -> list[int]:
        return [int(self.list.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(self.list.count())]
