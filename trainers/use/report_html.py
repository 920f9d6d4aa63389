"""The HTML pieces of a report: the page with its own style sheet, sections, tables and number formats.

Everything is inline (the style, the charts), so the file opens the same offline, mailed or archived."""

from __future__ import annotations

import math
from datetime import datetime
from html import escape
from typing import Any, Iterable, Sequence

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 0;
       background: #f4f5f7; color: #1d2330; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 28px 48px; }
header { background: #24324a; color: #fff; padding: 18px 28px; }
header h1 { margin: 0 0 4px; font-size: 24px; }
header p { margin: 0; color: #c9d3e6; }
section { background: #fff; border: 1px solid #dde1e8; border-radius: 6px; padding: 14px 20px 18px;
          margin: 18px 0; }
h2 { font-size: 18px; margin: 4px 0 12px; border-bottom: 1px solid #e4e7ec; padding-bottom: 6px; }
h3 { font-size: 14px; margin: 12px 0 6px; color: #3b4a63; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #e1e4ea; padding: 3px 9px; text-align: left; vertical-align: top; }
th { background: #f0f2f6; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.best td { background: #e8f4e8; font-weight: 600; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; }
.card { border: 1px solid #dde1e8; border-radius: 6px; padding: 8px 14px; min-width: 120px; background: #fafbfc; }
.card .label { font-size: 12px; color: #5b6679; }
.card .value { font-size: 20px; font-weight: 600; }
.charts { display: flex; flex-wrap: wrap; gap: 14px; }
figure { margin: 0; }
figcaption { font-size: 13px; font-weight: 600; color: #3b4a63; margin-bottom: 4px; }
.tiles { display: flex; flex-wrap: wrap; gap: 8px; }
.tile { border: 1px solid #dde1e8; border-radius: 4px; padding: 6px; font-size: 12px; text-align: center;
        min-width: 92px; background: #fafbfc; }
.tile img { image-rendering: pixelated; display: block; margin: 0 auto 4px; }
svg.chart { background: #fff; max-width: 100%; height: auto; }
.label-good_fit { color: #237a2f; } .label-overfitting, .label-lr_too_high, .label-diverged { color: #b3261e; }
.note { color: #5b6679; font-size: 13px; }
.columns { display: flex; flex-wrap: wrap; gap: 28px; align-items: flex-start; }
ul.evidence li, ol.interventions li { margin: 3px 0; font-size: 14px; }
code { background: #f0f2f6; padding: 0 3px; border-radius: 3px; }
footer { color: #5b6679; font-size: 12px; margin-top: 24px; }
"""


def fmt(value: Any, digits: int = 4) -> str:
    """A cell's text: numbers to `digits` significant places, nothing for a missing value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.{digits}g}" if value != 0 else "0"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt(v, digits) for v in value)
    return str(value)


def percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.2f}%"


def seconds_text(value: float | None) -> str:
    if value is None:
        return ""
    if value < 120:
        return f"{value:.1f} s"
    return f"{value / 60:.1f} min" if value < 7200 else f"{value / 3600:.1f} h"


def _cell(value: Any, tag: str = "td") -> str:
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    cls = ' class="num"' if numeric else ""
    return f"<{tag}{cls}>{escape(fmt(value))}</{tag}>"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, css: str = "", best_row: int | None = None) -> str:
    """A table of plain values (escaped); `best_row` is highlighted."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cls = ' class="best"' if i == best_row else ""
        body.append(f"<tr{cls}>" + "".join(_cell(v) for v in row) + "</tr>")
    klass = f' class="{css}"' if css else ""
    return f"<table{klass}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def key_values(pairs: Iterable[tuple[str, Any]]) -> str:
    """A two-column table of named values, leaving out the empty ones."""
    rows = [f"<tr><th>{escape(k)}</th>{_cell(v)}</tr>" for k, v in pairs if v is not None and v != ""]
    return f"<table><tbody>{''.join(rows)}</tbody></table>"


def cards(pairs: Iterable[tuple[str, str]]) -> str:
    items = [
        f'<div class="card"><div class="label">{escape(k)}</div><div class="value">{escape(v)}</div></div>'
        for k, v in pairs
        if v
    ]
    return f'<div class="cards">{"".join(items)}</div>'


def figure(caption: str, svg: str) -> str:
    return f"<figure><figcaption>{escape(caption)}</figcaption>{svg}</figure>"


def section(section_id: str, title: str, body: str) -> str:
    return f'<section id="{escape(section_id)}"><h2>{escape(title)}</h2>{body}</section>'


def page(title: str, subtitle: str, sections: Sequence[str], footer: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>{escape(title)}</h1><p>{escape(subtitle)}</p></header><main>"
        + "".join(sections)
        + f"<footer>{escape(footer)}</footer></main></body></html>\n"
    )


def flatten(config: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Dotted names and values of a nested config, in its own order."""
    out: list[tuple[str, Any]] = []
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out += flatten(value, name + ".")
        else:
            out.append((name, value if not isinstance(value, dict) else "{}"))
    return out
