"""Wording of a learning-rate range test for the window: rates, suggestions, spreads, outcomes.

Plain functions of the engine's result, shared by the plot's markers, the suggestions list and the tab's
message line, so a rate reads the same everywhere (and the value used is the value shown).
"""

from __future__ import annotations

from typing import Any

from app.training.run_panel import STATUS_KIND
from trainers.spec.config import RunConfig
from trainers.spec.lr_verify_events import VerifiedRate, VerifyRow
from trainers.spec.rates import agreed_middle, recommendation_text, recommended_rate

# Short names (plot markers, lists) and longer titles (the suggestions table), by suggestion name.
SUGGESTION_LABELS = {"steepest": "steepest", "valley": "valley", "min_div_10": "min ÷ 10"}
SUGGESTION_TITLES = {"steepest": "Steepest descent", "valley": "Valley", "min_div_10": "Minimum ÷ 10"}
AGREED_MIDDLE = "middle of the agreed band"
VERIFIED = "chosen by short runs"
FOR_BUDGET = "for the planned run"
OUTCOME_LABELS = {
    "chosen": "✔ chosen",
    "kept": "kept",
    "dropped": "dropped",
    "diverged": "diverged",
    "stopped": "stopped",
}


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
    """(text, rate) the user can pick from, the engine's recommended rate first (the rate short runs chose, else
    the rate for the planned run, else the agreed band's middle, else the valley), then the other suggestions;
    each rate already rounded as shown."""
    options: list[tuple[str, float]] = []
    verified = getattr(result, "verified", None)
    if verified is not None and verified.rate is not None:
        options.append((f"{VERIFIED} {format_lr(verified.rate)}", rounded_lr(verified.rate)))
    elif getattr(result, "planned_steps", None) and (rate := recommended_rate(result)) is not None:
        options.append((f"{FOR_BUDGET} {format_lr(rate)}", rounded_lr(rate)))
    if (middle := agreed_middle(result)) is not None:
        options.append((f"{AGREED_MIDDLE} {format_lr(middle)}", rounded_lr(middle)))
    first = [n for n in ("valley", "steepest") if n in names]  # without a band, the valley is the recommended one
    for name in first + [n for n in names if n not in first]:
        value = result.suggestions.get(name)
        if value is not None:
            options.append((f"{label(name)} {format_lr(value)}", rounded_lr(value)))
    return options


def headline_text(result: Any) -> str:
    """The one rate the engine recommends, and where it comes from; "" without one."""
    rate = recommended_rate(result)
    if rate is None:
        return ""
    return f"Recommended: {format_lr(rate)}, {recommendation_text(result)}"


def verify_cells(row: VerifyRow) -> tuple[str, ...]:
    """One line of the verification's evidence: rate, epochs, validation loss and accuracy, outcome."""
    loss = "—" if row.val_loss is None else f"{row.val_loss:.4f}"
    acc = "—" if row.val_acc is None else f"{row.val_acc:.1%}"
    return format_lr(row.rate), str(row.epochs), loss, acc, OUTCOME_LABELS.get(row.outcome, row.outcome)


def verify_summary(verified: VerifiedRate) -> str:
    """What the short runs were and how they ended."""
    runs = f"{len(verified.candidates)} rates (the schedule of a {verified.planned_epochs}-epoch run)"
    ranked = "" if verified.ranked_by == "val_loss" else " (ranked by training loss: no validation split)"
    return f"Short training runs at {runs}{ranked}: {verified.message}."


def verify_started_line(event: Any) -> str:
    """What the tab says while the short runs check the suggestion (event: LrVerifyStarted)."""
    rates = ", ".join(format_lr(r) for r in event.candidates)
    return (
        f"Checking {len(event.candidates)} rates ({rates}) by short training runs with the schedule of a "
        f"{event.planned_epochs}-epoch run; the better half goes on at each step"
    )


def rate_set_line(rate: float, result: Any, trial_id: int) -> str:
    """Apply's answer once the test it started chose a rate (rate: as set in the form)."""
    return f"Learning rate set to {rate:g} from the LR finder (trial {result.trial_id}) for trial {trial_id}'s config"


def no_rate_line(result: Any, trial_id: int) -> str:
    """Apply's answer when the test found no rate: why, and that nothing changed."""
    if result is None:
        why = "it could not run"
    elif result.status != "completed":
        why = f"run {result.trial_id} {result.status}" + (f": {result.message}" if result.message else "")
    else:
        why = result.message or "the curve shows no clear descent"
    return f"The LR finder found no rate for trial {trial_id} ({why}); the learning rate is unchanged"


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
    verified = getattr(r, "verified", None)
    if verified is not None and r.status == "completed":
        text += (
            f" Short runs chose {format_lr(verified.rate)}."
            if verified.rate is not None
            else f" The short runs chose no rate: {verified.message}."
        )
    return text, STATUS_KIND.get(r.status, "info")


def config_summary(cfg: RunConfig) -> str:
    return f"{cfg.data.source} · {cfg.model.family} · {cfg.optim.name} · batch {cfg.train.batch_size}"
