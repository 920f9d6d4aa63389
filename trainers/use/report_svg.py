"""Charts for the HTML report as inline SVG text: no plotting library, no fonts to fetch, no raster images.

Each function returns one `<svg>` element that any browser draws at any zoom; the numbers in it are the data's own
(the tests read them back)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Sequence

WIDTH, HEIGHT = 540, 290
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 64, 16, 34, 46
MARKERS_UP_TO = 40  # points are drawn as dots up to this many per series; more read better as a line
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


@dataclass(frozen=True)
class Series:
    """One line: y values (None leaves a gap) over x values, drawn in `color`, dashed or solid."""

    name: str
    xs: Sequence[float]
    ys: Sequence[float | None]
    color: str = PALETTE[0]
    dashed: bool = False
    step: bool = False  # a staircase (best so far), not a straight line between points
    line: bool = True  # False: dots only (a scatter)
    dots: bool = True  # a dot on each point (when there are few)


@dataclass(frozen=True)
class Axis:
    lo: float
    hi: float
    log: bool = False

    def to_unit(self, value: float) -> float:
        """0 at lo, 1 at hi."""
        if self.log:
            lo, hi, value = math.log10(self.lo), math.log10(self.hi), math.log10(value)
        else:
            lo, hi = self.lo, self.hi
        return (value - lo) / (hi - lo) if hi > lo else 0.5


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round numbers (1, 2 or 5 times a power of ten) spanning lo..hi."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    value = first
    while value <= hi + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


def log_ticks(lo: float, hi: float) -> list[float]:
    """Powers of ten between lo and hi (at least the two ends when they share a decade)."""
    ticks = [10.0**e for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)]
    inside = [t for t in ticks if lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9)]
    return inside if len(inside) >= 2 else [lo, hi]


def tick_label(value: float) -> str:
    if value == 0:
        return "0"
    return f"{value:.4g}".replace("e-0", "e-").replace("e+0", "e")


def _axis(values: list[float], log: bool, pad: float = 0.05) -> Axis:
    lo, hi = min(values), max(values)
    if log:
        return Axis(lo, hi if hi > lo else lo * 10, log=True)
    if hi == lo:
        lo, hi = lo - (abs(lo) * 0.1 or 1.0), hi + (abs(hi) * 0.1 or 1.0)
    span = hi - lo
    return Axis(lo - span * pad, hi + span * pad)


def _points(s: Series, x: Axis, y: Axis, box: tuple[float, float, float, float]) -> list[list[tuple[float, float]]]:
    """Pixel positions of the series, split where a value is missing."""
    left, top, w, h = box
    runs: list[list[tuple[float, float]]] = [[]]
    for xv, yv in zip(s.xs, s.ys):
        if yv is None or not math.isfinite(yv) or (y.log and yv <= 0):
            runs.append([])
            continue
        runs[-1].append((left + x.to_unit(xv) * w, top + (1 - y.to_unit(yv)) * h))
    return [r for r in runs if r]


def _path(points: list[tuple[float, float]], step: bool) -> str:
    parts = [f"M{points[0][0]:.1f},{points[0][1]:.1f}"]
    for x1, y1 in points[1:]:
        parts.append(f"H{x1:.1f}V{y1:.1f}" if step else f"L{x1:.1f},{y1:.1f}")
    return "".join(parts)


def _series_svg(s: Series, x: Axis, y: Axis, box: tuple[float, float, float, float]) -> list[str]:
    out = []
    dash = ' stroke-dasharray="6 4"' if s.dashed else ""
    for run in _points(s, x, y, box):
        if s.line and len(run) > 1:
            out.append(
                f'<path d="{_path(run, s.step)}" fill="none" stroke="{s.color}" stroke-width="2"{dash}>'
                f"<title>{escape(s.name)}</title></path>"
            )
        if not s.line or (s.dots and not s.step and len(s.xs) <= MARKERS_UP_TO) or len(run) == 1:
            out += [f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{s.color}"/>' for px, py in run]
    return out


def _grid(x: Axis, y: Axis, box: tuple[float, float, float, float], integer_x: bool) -> list[str]:
    left, top, w, h = box
    out = [f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="#fff" stroke="#bbb"/>']
    for t in log_ticks(y.lo, y.hi) if y.log else nice_ticks(y.lo, y.hi):
        py = top + (1 - y.to_unit(t)) * h
        if top - 0.5 <= py <= top + h + 0.5:
            out.append(f'<line x1="{left}" x2="{left + w}" y1="{py:.1f}" y2="{py:.1f}" stroke="#eee"/>')
            out.append(f'<text x="{left - 6}" y="{py + 4:.1f}" text-anchor="end">{tick_label(t)}</text>')
    xt = [t for t in nice_ticks(x.lo, x.hi) if not integer_x or float(t).is_integer()]
    for t in xt:
        px = left + x.to_unit(t) * w
        if left - 0.5 <= px <= left + w + 0.5:
            out.append(f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{top + h}" y2="{top + h + 4}" stroke="#888"/>')
            out.append(f'<text x="{px:.1f}" y="{top + h + 17}" text-anchor="middle">{tick_label(t)}</text>')
    return out


def _legend(series: Sequence[Series], left: float) -> list[str]:
    out, at = [], left
    for s in series:
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        if s.line:
            out.append(f'<line x1="{at}" x2="{at + 22}" y1="14" y2="14" stroke="{s.color}" stroke-width="2"{dash}/>')
        else:
            out.append(f'<circle cx="{at + 11}" cy="14" r="3.5" fill="{s.color}"/>')
        out.append(f'<text x="{at + 27}" y="18">{escape(s.name)}</text>')
        at += 40 + 7 * len(s.name)
    return out


def line_chart(
    title: str,
    series: Sequence[Series],
    x_label: str,
    y_label: str,
    *,
    log_y: bool = False,
    marker_x: float | None = None,
    integer_x: bool = True,
) -> str:
    """Lines over a shared x axis, with a legend on top and an optional dotted vertical marker (the kept epoch)."""
    xs = [float(v) for s in series for v in s.xs]
    ys = [float(v) for s in series for v in s.ys if v is not None and math.isfinite(v) and (v > 0 or not log_y)]
    if not xs or not ys:
        return empty_chart(title, "no values to draw")
    box = (MARGIN_LEFT, MARGIN_TOP, WIDTH - MARGIN_LEFT - MARGIN_RIGHT, HEIGHT - MARGIN_TOP - MARGIN_BOTTOM)
    x, y = _axis(xs, False, pad=0.03), _axis(ys, log_y)
    body = _grid(x, y, box, integer_x)
    if marker_x is not None:
        px = box[0] + x.to_unit(marker_x) * box[2]
        body.append(
            f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{box[1]}" y2="{box[1] + box[3]}" stroke="#666" '
            f'stroke-dasharray="2 3"><title>kept epoch {tick_label(marker_x)}</title></line>'
        )
    for s in series:
        body += _series_svg(s, x, y, box)
    body += _legend(series, box[0])
    body.append(f'<text x="{box[0] + box[2] / 2}" y="{HEIGHT - 8}" text-anchor="middle">{escape(x_label)}</text>')
    body.append(
        f'<text transform="translate(14 {box[1] + box[3] / 2}) rotate(-90)" text-anchor="middle">'
        f"{escape(y_label)}</text>"
    )
    return _svg(title, body)


def bar_chart(title: str, items: Sequence[tuple[str, float]], value_format: str = "{:.3f}") -> str:
    """Horizontal bars, one per (label, value ≥ 0), longest first as given."""
    if not items:
        return empty_chart(title, "no values to draw")
    row, label_w = 24, min(260, 12 + 7 * max(len(label) for label, _ in items))
    height = MARGIN_TOP + row * len(items) + 12
    top = max((v for _, v in items), default=0.0) or 1.0
    bar_w = WIDTH - label_w - 80
    body = []
    for i, (label, value) in enumerate(items):
        y = MARGIN_TOP + i * row
        w = max(0.0, value) / top * bar_w
        body.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(label)}</text>')
        body.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" fill="{PALETTE[0]}"/>')
        body.append(f'<text x="{label_w + w + 5:.1f}" y="{y + 15}">{value_format.format(value)}</text>')
    return _svg(title, body, height)


def empty_chart(title: str, why: str) -> str:
    return _svg(
        title, [f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" fill="#888">{escape(why)}</text>']
    )


def _svg(title: str, body: list[str], height: int = HEIGHT) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
        f'height="{height}" role="img" aria-label="{escape(title)}" font-family="sans-serif" font-size="11">'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )
