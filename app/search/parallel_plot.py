"""Parallel coordinates: one polyline per completed trial across the value and each searched parameter, every axis
scaled to its own range (the space's bounds, log ranges in decades, choices evenly spaced), coloured by value:
bright is better. A parameter a trial did not sample (it did not apply) leaves a gap."""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.plots.pens import line_pen
from app.search import wording as text
from app.search.plot_base import make_plot
from app.search.trial_log import TrialRow
from trainers.spec.errors import ConfigError
from trainers.spec.search_space import ParamSpec

AXIS_COLOUR = (130, 130, 130)
Scale = Callable[[Any], float]  # a raw value → its height on the axis, 0…1 (NaN: not shown)


def _linear(lo: float, hi: float, log: bool = False) -> Scale:
    if log:
        lo, hi = math.log10(lo), math.log10(hi)
    span = hi - lo

    def at(v: Any) -> float:
        if not isinstance(v, (int, float)) or isinstance(v, bool) or (log and v <= 0):
            return math.nan
        x = math.log10(v) if log else float(v)
        return 0.5 if span == 0 else (x - lo) / span

    return at


def _choices(choices: tuple[Any, ...]) -> Scale:
    last = max(1, len(choices) - 1)
    return lambda v: choices.index(v) / last if v in choices else math.nan


def axis_scale(field: str, space_text: str | None, seen: list[Any]) -> tuple[Scale, list[tuple[float, str]]]:
    """How a parameter's values sit on its axis, and the labels along it: from the space when it is known,
    else from the values seen."""
    spec = None
    if space_text:
        try:
            spec = ParamSpec.parse(field, space_text)
        except ConfigError:
            spec = None
    if spec is not None and spec.mode == "choice":
        last = max(1, len(spec.choices) - 1)
        return _choices(spec.choices), [(i / last, text.format_param(c)) for i, c in enumerate(spec.choices)]
    if spec is not None and spec.low is not None and spec.high is not None:
        lo, hi = spec.low, spec.high
        return _linear(lo, hi, spec.log), [(0.0, text.format_param(lo)), (1.0, text.format_param(hi))]
    numbers = [v for v in seen if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if numbers and len(numbers) == len(seen):
        lo, hi = min(numbers), max(numbers)
        return _linear(lo, hi), [(0.0, text.format_param(lo)), (1.0, text.format_param(hi))]
    kinds = tuple(dict.fromkeys(seen))
    last = max(1, len(kinds) - 1)
    return _choices(kinds), [(i / last, text.format_param(c)) for i, c in enumerate(kinds)]


class ParallelPlot(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = make_plot("Parallel coordinates", "", "")
        self.plot.hideAxis("left")
        self.plot.setMouseEnabled(x=False, y=False)
        self._colours = pg.colormap.get("viridis")
        self.lines: list[pg.PlotDataItem] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)

    def show_trials(self, rows: list[TrialRow], space: dict[str, str], params: list[str], maximise: bool) -> None:
        """Redraw over the completed trials (a few hundred lines: cheap)."""
        self.plot.clear()
        self.lines = []
        done = [r for r in rows if r.state == "complete" and r.value is not None]
        names = ["value", *params]
        self.plot.getAxis("bottom").setTicks([[(i, text.short_name(n)) for i, n in enumerate(names)]])
        values = [float(r.value) for r in done]  # type: ignore[arg-type]
        lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
        scales = [_linear(lo, hi)] + [
            axis_scale(p, space.get(p), [r.params[p] for r in done if p in r.params])[0] for p in params
        ]
        self._draw_axes(names, space, done, (lo, hi))
        for r in done:
            y = np.array([scales[0](r.value)] + [s(r.params.get(p)) for s, p in zip(scales[1:], params)])
            shade = scales[0](r.value)
            brightness = (shade if maximise else 1 - shade) if math.isfinite(shade) else 0.5
            line = pg.PlotDataItem(
                np.arange(len(names), dtype=float),
                y,
                pen=line_pen(self._colours.map(brightness, mode="qcolor")),
                connect="finite",
            )
            line.setZValue(brightness)  # the best trials on top
            self.plot.addItem(line)
            self.lines.append(line)
        self.plot.setXRange(-0.3, len(names) - 0.7, padding=0)
        self.plot.setYRange(-0.08, 1.08, padding=0)

    def _draw_axes(self, names: list[str], space: dict[str, str], done: list[TrialRow], span: tuple) -> None:
        for i, name in enumerate(names):
            self.plot.addItem(pg.InfiniteLine(pos=i, angle=90, pen=line_pen(AXIS_COLOUR)))
            if i == 0:
                labels = [(0.0, text.format_value(span[0])), (1.0, text.format_value(span[1]))] if done else []
            else:
                labels = axis_scale(name, space.get(name), [r.params[name] for r in done if name in r.params])[1]
            for y, label in labels:
                item = pg.TextItem(label, color=AXIS_COLOUR, anchor=(0, 0.5))
                item.setPos(i, y)
                self.plot.addItem(item)

    def clear(self) -> None:
        self.plot.clear()
        self.lines = []

    def line_count(self) -> int:
        return len(self.lines)
