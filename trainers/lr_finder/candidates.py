"""Which rates the verification tries, and at which epoch counts it compares them (pure functions, no torch).

The range test's suggestions sit below the best rate for short budgets more often than above it, so the candidates
span the agreed band (else the suggestions) and reach up to a third of the rate at the loss minimum, where the
loss still falls steadily; the headline rate is always one of them, so the check can confirm it.
"""

from __future__ import annotations

import math
from typing import Any

# Rates closer than this factor are one candidate: a range test reads no finer than that.
SAME_RATE = 1.05
# The highest candidate: the rate at the smoothed loss's minimum divided by this.
BELOW_MINIMUM = 3.0


def candidate_rates(result: Any, headline: float | None, count: int) -> tuple[float, ...]:
    """`count` rates evenly spread on the log axis over the band up to the loss minimum ÷ 3, the headline
    among them, ascending; () without any suggestion. `result`: a LrFinderResult (its suggestions and band)."""
    found = [float(v) for v in result.suggestions.values() if v is not None]
    if headline is not None:
        found.append(float(headline))
    if not found:
        return ()
    lo = result.agreed[0] if result.agreed is not None else min(found)
    hi = result.agreed[1] if result.agreed is not None else max(found)
    minimum = result.suggestions.get("min_div_10")
    if minimum is not None:
        hi = max(hi, 10.0 * minimum / BELOW_MINIMUM)
    if headline is not None:
        lo, hi = min(lo, headline), max(hi, headline)
    rates = _geometric(lo, hi, count)
    if headline is not None:
        nearest = min(range(len(rates)), key=lambda i: abs(math.log(rates[i] / headline)))
        rates[nearest] = float(headline)
    return _distinct(sorted(rates))


def _geometric(lo: float, hi: float, count: int) -> list[float]:
    if count < 2 or hi <= lo:
        return [lo]
    step = math.log(hi / lo) / (count - 1)
    return [lo * math.exp(step * i) for i in range(count)]


def _distinct(rates: list[float]) -> tuple[float, ...]:
    kept: list[float] = []
    for rate in rates:
        if not kept or rate / kept[-1] >= SAME_RATE:
            kept.append(rate)
    return tuple(kept)


def rungs(planned_epochs: int) -> tuple[int, ...]:
    """The epoch counts at which candidates are compared: a quarter of the plan (at least one), doubling up to
    the planned epochs."""
    first = max(1, planned_epochs // 4)
    out = [min(first, planned_epochs)]
    while out[-1] < planned_epochs:
        out.append(min(2 * out[-1], planned_epochs))
    return tuple(out)


def survivors(count: int) -> int:
    """How many candidates go on to the next rung: the better half, at least one."""
    return max(1, count // 2)


def total_epochs(candidates: int, planned_epochs: int) -> int:
    """Epochs the short runs take when none diverges: every rung trains its survivors from the last one's count."""
    total, before, alive = 0, 0, candidates
    for epochs in rungs(planned_epochs):
        total += alive * (epochs - before)
        before = epochs
        alive = survivors(alive)
        if epochs == planned_epochs or alive == 1:
            break
    return total
