"""The learning-rate preview under the schedule fields: the planned rate over the whole run.

Computed by the engine's pure schedule functions (numpy only), so it draws before torch is loaded.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from app.forms.field_editor import small_font
from app.plots.pens import line_pen
from trainers.spec.config import RunConfig
from trainers.spec.schedules import schedule_preview
from trainers.spec.shapes import planned_steps_per_epoch


class _StillPlot(pg.PlotWidget):
    """A picture in a scrolling form: the mouse wheel scrolls the form, never this plot."""

    def wheelEvent(self, event: QWheelEvent) -> None:
        event.ignore()  # goes on to the parent: the form's scroll area


class SchedulePlot(QWidget):
    """A small non-interactive plot (x: epoch, y: learning rate) and a caption saying what it assumes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = _StillPlot()
        self.plot.setFixedHeight(120)
        # pyqtgraph hints 600 px wide; let the form's width decide instead (it sits in a ~380 px column)
        self.plot.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.plot.setMinimumWidth(160)
        for w in (self.plot, self.plot.viewport()):  # a picture, not a Tab stop
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setBackground(None)  # follow the palette instead of pyqtgraph's black
        item = self.plot.getPlotItem()
        item.setLabel("bottom", "epoch")
        item.setLabel("left", "lr")
        for side in ("left", "bottom"):  # "0.001", not "1 (x0.001)" clipped at this size
            item.getAxis(side).enableAutoSIPrefix(False)
        item.showGrid(x=True, y=True, alpha=0.2)
        self._pen = line_pen("#2a7ab0")
        self._stale_pen = line_pen("#9e9e9e", style=Qt.PenStyle.DashLine)
        self.curve = item.plot(np.zeros(0), np.zeros(0), pen=self._pen)

        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setFont(small_font(self.caption))

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.plot)
        layout.addWidget(self.caption)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def show_config(self, cfg: RunConfig) -> None:
        """Redraw for a valid config."""
        steps, exact = planned_steps_per_epoch(cfg)
        x, lrs = schedule_preview(cfg, steps)
        self.curve.setData(np.asarray(x, dtype=np.float64), np.asarray(lrs, dtype=np.float64))
        self.curve.setPen(self._pen)
        item = self.plot.getPlotItem()
        item.setXRange(0, float(cfg.train.epochs), padding=0.02)
        top = float(np.max(lrs)) if len(lrs) else 0.0
        # Rates start at 0, and a constant one sits at 87 % of the height, not at 0 of a ±0.5 axis.
        item.setYRange(0.0, top * 1.15 if top > 0 else 1.0, padding=0)
        text = (
            f"{cfg.train.epochs} epochs × {steps:,} steps"
            if exact
            else f"{cfg.train.epochs} epochs × ~{steps} steps (approximate: the data's size is known once it is read)"
        )
        if cfg.schedule.name == "plateau":
            text += "; reduce-on-plateau decays only when validation stalls, so the drop is not shown"
        self.caption.setText(text)

    def set_stale(self) -> None:
        """Keep the last curve but mark it out of date while the form holds errors."""
        self.curve.setPen(self._stale_pen)
        self.caption.setText("Preview paused: fix the marked fields.")
