"""The report sections of a search: the best trial, every trial in a table, the optimisation history (each trial's
value and the best so far) and which parameters mattered."""

from __future__ import annotations

from html import escape
from typing import Any, Sequence

from trainers.search.importance import Importances
from trainers.spec.search_events import SearchResult, SearchTrialEnded
from trainers.use.report_html import cards, figure, fmt, key_values, seconds_text, section, table
from trainers.use.report_svg import PALETTE, Series, bar_chart, line_chart

STATE_COLORS = {"complete": PALETTE[0], "pruned": "#9aa4b5"}


def best_so_far(values: Sequence[float | None], minimise: bool) -> list[float | None]:
    """The running best of the values (None until the first value)."""
    out: list[float | None] = []
    best: float | None = None
    for v in values:
        if v is not None and (best is None or (v < best if minimise else v > best)):
            best = v
        out.append(best)
    return out


def result_section(result: SearchResult) -> str:
    counts = ", ".join(f"{n} {state}" for state, n in result.counts.items() if n)
    best_trial = f"#{result.best_number} (trial {result.best_trial_id})" if result.best_number is not None else ""
    head = cards(
        [
            ("status", result.status),
            (f"best {result.monitor}", fmt(result.best_value)),
            ("best trial", best_trial),
            ("trials", str(sum(result.counts.values()))),
            ("duration", seconds_text(result.seconds)),
        ]
    )
    facts = key_values(
        [
            ("study", result.study),
            ("storage", result.storage),
            ("monitor", result.monitor),
            ("trials by state", counts),
            ("message", result.message),
        ]
    )
    best = ""
    if result.best_params:
        best = "<h3>Best parameters</h3>" + table(["parameter", "value"], list(result.best_params.items()))
    return section("summary", "Search result", head + "<h3>Record</h3>" + facts + best)


def trials_section(trials: Sequence[SearchTrialEnded], best_number: int | None) -> str:
    if not trials:
        return section("trials", "Trials", '<p class="note">No trial has finished.</p>')
    names: list[str] = []
    for t in trials:
        names += [p for p in t.params if p not in names]
    headers = ["#", "trial", "state", "value", "epochs", "pruned at", *names]
    rows = [
        (t.number, t.trial_id, t.state, t.value, t.epochs, t.pruned_at, *[t.params.get(p) for p in names])
        for t in trials
    ]
    best = next((i for i, t in enumerate(trials) if t.number == best_number), None)
    return section("trials", "Trials", table(headers, rows, best_row=best))


def history_section(trials: Sequence[SearchTrialEnded], monitor: str) -> str:
    """Each trial's value by trial number (pruned trials: their last reported value) and the best so far."""
    minimise = monitor == "val_loss"
    done = [t for t in trials if t.value is not None]
    if not done:
        return section("history", "Optimisation history", '<p class="note">No trial has a value yet.</p>')
    series = []
    for state, color in STATE_COLORS.items():
        picked = [t for t in done if t.state == state]
        if picked:
            series.append(Series(state, [t.number for t in picked], [t.value for t in picked], color, line=False))
    complete = [t for t in done if t.state == "complete"]
    running = best_so_far([t.value for t in complete], minimise)
    if complete:  # the step line runs on to the last trial, which it still holds the best for
        xs = [t.number for t in complete] + [max(t.number for t in done)]
        series.append(Series("best so far", xs, [*running, running[-1]], PALETTE[3], step=True))
    chart = line_chart(f"{monitor} by trial", series, "trial number", monitor)
    word = "lowest" if minimise else "highest"
    note = f'<p class="note">The step line is the {word} {escape(monitor)} of the completed trials so far.</p>'
    return section("history", "Optimisation history", f'<div class="charts">{figure(monitor, chart)}</div>{note}')


def importance_section(importances: Importances | None, why_not: str = "") -> str:
    if importances is None or not importances:
        reason = why_not or (importances.reason if importances is not None else "") or "not available"
        return section("importance", "Parameter importance", f'<p class="note">{escape(reason)}</p>')
    chart = bar_chart("importance", list(importances.items()))
    method = {"ped_anova": "PED-ANOVA", "fanova": "fANOVA"}.get(importances.method, importances.method)
    note = f"{method} over {importances.complete} completed trials" + (
        f"; {importances.reason}" if importances.reason else ""
    )
    body = f'<div class="charts">{figure("share of the importance", chart)}</div><p class="note">{escape(note)}</p>'
    return section("importance", "Parameter importance", body)


def stored_importance(extra: dict[str, Any]) -> Importances | None:
    """Importances kept with the search trial ({"method", "complete", "values"}), when a version keeps them."""
    kept = extra.get("importance")
    if not isinstance(kept, dict) or not isinstance(kept.get("values"), dict):
        return None
    values = {str(k): float(v) for k, v in kept["values"].items()}
    return Importances(values, method=str(kept.get("method", "")), complete=int(kept.get("complete") or 0), seconds=0.0)
