"""The report's evaluation section, from the evaluation stored with a trial (trainers/use/evaluation.py's
Evaluation.to_dict, in the trial's extra under "evaluation"): the confusion matrix, per-class metrics, calibration
and the most confident mistakes. Read key by key, so an evaluation missing a part still shows the rest."""

from __future__ import annotations

from html import escape
from typing import Any, Sequence

from trainers.use.report_html import cards, figure, fmt, percent, section, table
from trainers.use.report_svg import PALETTE, Series, line_chart

MATRIX_UP_TO = 30  # classes; more are shown as the largest confusions instead of a matrix
TOP_CONFUSIONS = 20
SPLIT_ORDER = {"test": 0, "val": 1}


def evaluations_in(stored: Any) -> list[dict[str, Any]]:
    """The stored evaluations: one (a dict with a confusion matrix) or several by split ({"test": {...}, ...})."""
    if not isinstance(stored, dict):
        return []
    if "confusion" in stored:
        return [stored]
    found = [v for v in stored.values() if isinstance(v, dict) and "confusion" in v]
    return sorted(found, key=lambda e: SPLIT_ORDER.get(str(e.get("split")), len(SPLIT_ORDER)))


def evaluation_section(stored: Any, thumbnails: dict[str, dict[int, str]] | None = None, note: str = "") -> str:
    """The whole section; "" when no evaluation is stored (`tunelab evaluate ID` stores one). `thumbnails`:
    {split: {sample index: data URI}} of the mistakes' images; `note`: why they are missing."""
    parts = [_one(e, (thumbnails or {}).get(str(e.get("split")), {})) for e in evaluations_in(stored)]
    if parts and note:
        parts.append(f'<p class="note">{escape(note)}</p>')
    return section("evaluation", "Evaluation", "".join(parts)) if parts else ""


def _one(e: dict[str, Any], thumbnails: dict[int, str]) -> str:
    names = [str(n) for n in e.get("class_names") or []]
    rel = e.get("reliability") or {}
    macro = e.get("macro") or {}
    split = str(e.get("split", ""))
    head = cards(
        [
            ("split", split),
            ("samples", fmt(e.get("samples"))),
            ("accuracy", percent(e.get("accuracy"))),
            ("macro F1", fmt(macro.get("f1"))),
            ("expected calibration error", fmt(rel.get("ece"))),
        ]
    )
    parts = [f"<h3>On the {escape(split)} split</h3>", head, '<div class="columns">']
    parts += [f"<div>{_confusion(e.get('confusion') or [], e.get('confusion_normalised') or [], names)}</div>"]
    parts += [f"<div>{_per_class(e, names)}</div></div>", _calibration(rel), _mistakes(e, thumbnails)]
    notes = [str(n) for n in e.get("notes") or []]
    parts += [f'<p class="note">{escape(n)}</p>' for n in notes]
    return "".join(parts)


def _shade(share: float) -> str:
    """A blue whose depth is the row share (white at 0)."""
    share = min(1.0, max(0.0, share))
    r, g, b = (int(255 - (255 - c) * share) for c in (31, 119, 180))
    return f"rgb({r},{g},{b})"


def _confusion(counts: Sequence[Sequence[int]], shares: Sequence[Sequence[float]], names: list[str]) -> str:
    if not counts:
        return ""
    k = len(counts)
    names = names if len(names) == k else [str(i) for i in range(k)]
    if k > MATRIX_UP_TO:
        pairs = [(counts[i][j], names[i], names[j]) for i in range(k) for j in range(k) if i != j and counts[i][j]]
        pairs.sort(key=lambda p: -p[0])
        rows = [(t, p, c) for c, t, p in pairs[:TOP_CONFUSIONS]]
        return "<h3>Largest confusions</h3>" + table(["true class", "predicted as", "samples"], rows)
    head = "".join(f"<th>{escape(n)}</th>" for n in names)
    body = []
    for i, row in enumerate(counts):
        cells = []
        for j, count in enumerate(row):
            share = float(shares[i][j]) if i < len(shares) and j < len(shares[i]) else 0.0
            ink = "#fff" if share > 0.55 else ("#1d2330" if count else "#b4bac4")
            cells.append(
                f'<td class="num" style="background:{_shade(share)};color:{ink}" title="{share * 100:.1f}% of '
                f'{escape(names[i])}">{int(count)}</td>'
            )
        body.append(f"<tr><th>{escape(names[i])}</th>{''.join(cells)}</tr>")
    note = '<p class="note">Rows: the true class; columns: the predicted class. Shading: the share of the row.</p>'
    return (
        f'<h3>Confusion matrix</h3><table class="confusion"><thead><tr><th>true \\ predicted</th>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>{note}"
    )


def _per_class(e: dict[str, Any], names: list[str]) -> str:
    pc = e.get("per_class") or {}
    cols = [pc.get(k) or [] for k in ("precision", "recall", "f1", "support")]
    if not cols[0]:
        return ""
    names = names if len(names) == len(cols[0]) else [str(i) for i in range(len(cols[0]))]
    rows: list[tuple[Any, ...]] = [
        (name, *(c[i] if i < len(c) else None for c in cols)) for i, name in enumerate(names)
    ]
    total = sum(int(s) for s in cols[3]) if cols[3] else None
    for label in ("macro", "weighted"):
        avg = e.get(label) or {}
        rows.append((f"{label} average", avg.get("precision"), avg.get("recall"), avg.get("f1"), total))
    return "<h3>Per-class metrics</h3>" + table(["class", "precision", "recall", "F1", "support"], rows)


def _calibration(rel: dict[str, Any]) -> str:
    counts, acc, conf = (rel.get(k) or [] for k in ("counts", "accuracy", "confidence"))
    filled = [i for i, n in enumerate(counts) if n and i < len(acc) and i < len(conf)]
    if not filled:
        return ""
    model = Series("model", [conf[i] for i in filled], [acc[i] for i in filled], PALETTE[0])
    perfect = Series("perfectly calibrated", [0.0, 1.0], [0.0, 1.0], "#888", dashed=True, dots=False)
    chart = line_chart("reliability", [perfect, model], "confidence", "accuracy", integer_x=False)
    edges = rel.get("edges") or []
    rows = [
        (f"{edges[i]:.2f}–{edges[i + 1]:.2f}" if i + 1 < len(edges) else str(i), counts[i], conf[i], acc[i])
        for i in filled
    ]
    bins = table(["confidence bin", "samples", "mean confidence", "accuracy"], rows)
    return (
        f'<h3>Calibration (ECE {fmt(rel.get("ece"))})</h3><div class="columns">'
        f"{figure('Reliability diagram', chart)}<div>{bins}</div></div>"
    )


def _mistakes(e: dict[str, Any], thumbnails: dict[int, str]) -> str:
    mistakes = [m for m in e.get("mistakes") or [] if isinstance(m, dict)]
    if not mistakes:
        return ""
    if thumbnails:
        return "<h3>Most confident mistakes</h3>" + _mistake_tiles(mistakes, thumbnails)
    columns = [str(c) for c in e.get("columns") or []]
    with_rows = e.get("inputs") == "table" and any(m.get("row") for m in mistakes)
    headers = ["sample", "true", "predicted", "confidence"] + (["file line", *columns] if with_rows else [])
    rows = []
    for m in mistakes:
        row = [m.get("index"), m.get("true"), m.get("predicted"), m.get("confidence")]
        if with_rows:
            row += [m.get("line"), *(m.get("row") or [])]
        rows.append(row)
    return "<h3>Most confident mistakes</h3>" + table(headers, rows)


def _mistake_tiles(mistakes: list[dict[str, Any]], thumbnails: dict[int, str]) -> str:
    """Each mistake as its picture with what it is and what the model said."""
    tiles = []
    for m in mistakes:
        uri = thumbnails.get(int(m.get("index", -1)))
        picture = f'<img src="{uri}" alt="sample {m.get("index")}">' if uri else ""
        tiles.append(
            f'<div class="tile">{picture}<div>#{escape(fmt(m.get("index")))}</div>'
            f"<div>true <b>{escape(fmt(m.get('true')))}</b></div>"
            f"<div>said <b>{escape(fmt(m.get('predicted')))}</b> {percent(m.get('confidence'))}</div></div>"
        )
    return f'<div class="tiles">{"".join(tiles)}</div>'
