"""Live pyqtgraph plots fed from preallocated growing buffers (no torch: the window shows first)."""

from app.plots.buffers import GrowingBuffer
from app.plots.live_plot import LivePlot
from app.plots.training_plots import REFRESH_MS, TrainingPlots

__all__ = ["GrowingBuffer", "LivePlot", "REFRESH_MS", "TrainingPlots"]
