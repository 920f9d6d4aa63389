"""Wording of a learning-rate range test for the window: rates, suggestions, spreads, outcomes.

Plain functions of the engine's result, shared by the plot's markers, the suggestions list and the tab's
message line, so a rate reads the same everywhere (and the value used is the value shown).
"""

from __future__ import annotations

from typing import Any

from app.training.run_panel import STATUS_KIND
from trainers.spec.config import RunConfig
from trainers.spec.rates import recommended_rate

# Short names (plot markers, lists) and longer titles (the suggestions table), by suggestion name.
SUGGESTION_LABELS = {"steepest": "steepest", "valley": "valley", "min_div_10": "min ÷ 10"}
SUGGESTION_TITLES = {"steepest": "Steepest descent", "valley": "Valley", "min_div_10": "Minimum ÷ 10"}
AGREED_MIDDLE = "middle of the agreed band"


def format_lr(lr: float) -> str:
    """Two significant digits are all a range test can tell: 2.1e-03."""
    return f"{lr:.1e}"


def rounded_lr(lr: float) -> float:
    """The rate as shown, so what the user reads is exactly what goes into the training form."""
    return float(format_lr(lr))


def label(name: str) -> str:
    return SUGGESTION_LABELS.get(name, name.replace("_", " "))


def title(name: str) -> str:
    return SUGGESTION_TITLES.get(name, name.replace("_", " ").capitalize())


def seeds(result: Any) -> int:
    return len(result.curves)


def suggestion_text(result: Any, name: str) -> str:
    """ "2.1e-03", with its spread when several seeds were run: "2.1e-03 (1.5e-03 – 3.0e-03 over 3 seeds)"."""
    value = result.suggestions.get(name)
    if value is None:
        return "—"
    text = format_lr(value)
    spread = (result.spreads or {}).get(name)
    if seeds(result) > 1 and spread is not None:
        text += f" ({format_lr(spread[0])} – {format_lr(spread[1])} over {seeds(result)} seeds)"
    return text


def agreed_text(result: Any) -> str:
    if result.agreed is None:
        return "The suggestions do not agree on a band." if any(result.suggestions.values()) else ""
    lo, hi = result.agreed
    names = ", ".join(label(n) for n in result.agreeing)
    return f"agree: {format_lr(lo)} – {format_lr(hi)} ({names})"


def choices(result: Any, names: tuple[str, ...]) -> list[tuple[str, float]]:
    """(text, rate) the user can pick from, the engine's recommended rate first (the agreed band's middle, else
    the valley), then the other suggestions; each rate already rounded as shown."""
    options: list[tuple[str, float]] = []
    if result.agreed is not None and (middle := recommended_rate(result)) is not None:
        options.append((f"{AGREED_MIDDLE} {format_lr(middle)}", rounded_lr(middle)))
    first = [n for n in ("valley", "steepest") if n in names]  # without a band, the valley is the recommended one
    for name in first + [n for n in names if n not in first]:
        value = result.suggestions.get(name)
        if value is not None:
            options.append((f"{label(name)} {format_lr(value)}", rounded_lr(value)))
    return options


def iterations_run(result: Any) -> int:
    return sum(len(c.lrs) for c in result.curves)


def describe_outcome(outcome: Any) -> tuple[str, str]:
    """The line shown when a range test ends (outcome: app.worker.JobOutcome), and its style."""
    r = outcome.result
    if r is None:
        return f"The LR finder could not start: {outcome.error}", "error"
    n = iterations_run(r)
    its = f"{n} iteration{'s' if n != 1 else ''}"
    if r.status == "failed":
        text = f"LR finder run {r.trial_id} failed" + (f": {r.message}" if r.message else ".")
    elif r.status == "stopped":
        text = f"LR finder run {r.trial_id} stopped after {its}; the partial curve is kept."
    else:
        text = f"LR finder run {r.trial_id} {r.status}: {its} in {r.seconds:.1f} s."
    if r.message and r.status != "failed":
        text += f" {r.message}"
    ended = [reason for reason in r.stop_reasons if not reason.startswith("stopped by request")]
    if ended:
        text += f" Ended early: {ended[0]}."
    return text, STATUS_KIND.get(r.status, "info")


def config_summary(cfg: RunConfig) -> str:
    return f"{cfg.data.source} · {cfg.model.family} · {cfg.optim.name} · batch {cfg.train.batch_size}"
