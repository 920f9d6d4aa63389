"""Parameter importance: one horizontal bar per searched parameter, as the engine measured it (PED-ANOVA's shares,
largest on top, redrawn as trials end), or the engine's reason why there are none yet. A button asks for fANOVA's
(a random forest: minutes at a thousand trials) on the search on show; the tab measures it in the background."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from app.search import wording as text
from app.search.plot_base import COMPLETE_COLOUR, make_plot

BAR_HEIGHT = 0.6
WAITING = "Importance appears once two trials have completed."
FANOVA_TEXT = "Ran&k by fANOVA (slower)"
FANOVA_TIP = (
    "Measure each parameter's importance with fANOVA (a random forest over every completed trial) in the "
    "background: steadier than the live PED-ANOVA bars, and minutes at a thousand trials"
)


class ImportanceView(QWidget):
    fanova_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fanova_button = QPushButton(FANOVA_TEXT)
        self.fanova_button.setToolTip(FANOVA_TIP)
        self.fanova_button.setEnabled(False)
        self.fanova_button.clicked.connect(self.fanova_requested)
        self.plot = make_plot("Parameter importance", "share of importance", "")
        self.plot.setMouseEnabled(x=False, y=False)
        self.note = QLabel(WAITING)
        self.note.setWordWrap(True)
        self.note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.values: dict[str, float] = {}
        self.bars: pg.BarGraphItem | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.note)
        layout.addWidget(self.fanova_button, 0, Qt.AlignmentFlag.AlignRight)

    def show_importance(self, values: dict[str, float], note: str = "") -> None:
        """Bars for {field: importance} (in the engine's order: largest first), and a line under them."""
        self.values = dict(values)
        self.plot.clear()
        self.bars = None
        names = list(self.values)
        self.note.setText(note or ("" if names else WAITING))
        self.note.setVisible(bool(self.note.text()))
        if not names:
            self.plot.getAxis("left").setTicks([[]])
            return
        rows = list(range(len(names)))[::-1]  # the largest at the top
        self.bars = pg.BarGraphItem(
            x0=0, y=rows, height=BAR_HEIGHT, width=[self.values[n] for n in names], brush=pg.mkBrush(COMPLETE_COLOUR)
        )
        self.plot.addItem(self.bars)
        self.plot.getAxis("left").setTicks([[(r, text.short_name(n)) for r, n in zip(rows, names)]])
        for r, n in zip(rows, names):
            label = pg.TextItem(text.format_value(self.values[n]), anchor=(0, 0.5))
            label.setPos(self.values[n], r)
            self.plot.addItem(label)
        self.plot.setXRange(0, max(1e-9, max(self.values.values())) * 1.25, padding=0)
        self.plot.setYRange(-0.6, len(names) - 0.4, padding=0)

    def clear(self, note: str = WAITING) -> None:
        self.show_importance({}, note)

    def set_fanova(self, usable: bool, measuring: bool = False) -> None:
        """The fANOVA button: usable while a search is on show; it says so while its measurement runs."""
        self.fanova_button.setEnabled(usable and not measuring)
        self.fanova_button.setText("Ranking by fANOVA…" if measuring else FANOVA_TEXT)
