"""Where a run's learning rate sits against the LR finder's band, and where that band comes from in the store.

The band is the range of rates a range test recommends for one model, optimizer and dataset. A rate more than
FAR times outside it is far from sound: underfitting at such a rate is blamed on the rate, not the model.
Torch-free: the stored range test is read from its trial's columns, not loaded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from trainers.spec.config import RunConfig
from trainers.spec.schedules import one_cycle_peak

FAR = 10.0  # a rate an order of magnitude outside the band is far from it (the band itself spans about 3x)
LR_FINDER_KIND = "lr_test"  # the kind of an LR finder trial (trainers.lr_finder.trial, which imports torch)
LOOKBACK = 200  # how many of the newest range tests to search for one on the same setup


def training_rate(cfg: RunConfig) -> float:
    """The rate the run trains at: under one-cycle its peak, which sets the pace."""
    return one_cycle_peak(cfg) if cfg.schedule.name == "one_cycle" else cfg.optim.lr


@dataclass(frozen=True)
class RatePlace:
    """A run's rate against the band: "below" or "above" when more than FAR times outside it, else "sound"."""

    where: str
    rate: float
    band: tuple[float, float]

    @property
    def text(self) -> str:
        lo, hi = self.band
        band = f"the LR finder's band {lo:.2g}–{hi:.2g}" if hi > lo * 1.001 else f"the LR finder's rate {lo:.2g}"
        if self.where == "sound":
            return f"the learning rate {self.rate:.2g} is within {FAR:g}x of {band}"
        factor = lo / self.rate if self.where == "below" else self.rate / hi
        return f"the learning rate {self.rate:.2g} is {factor:.0f}x {self.where} {band}"


def rate_place(cfg: RunConfig | None, band: tuple[float, float] | None) -> RatePlace | None:
    """None without a band or a config to read the rate from."""
    if cfg is None or band is None:
        return None
    lo, hi = band
    rate = training_rate(cfg)
    if not (rate > 0 and math.isfinite(rate)):
        return None
    where = "below" if rate * FAR < lo else "above" if rate > FAR * hi else "sound"
    return RatePlace(where, rate, (lo, hi))


def band_from(extra: dict[str, Any], recommended: float | None = None) -> tuple[float, float] | None:
    """The band a stored range test found: the rates its suggestions agree on, else the span of its suggestions,
    widened to take in its recommended rate; None when it suggested nothing."""
    rates = [float(v) for v in (extra.get("agreed") or []) if _positive(v)]
    if not rates:
        rates = [float(v) for v in (extra.get("suggestions") or {}).values() if _positive(v)]
    if recommended is not None and _positive(recommended):
        rates.append(float(recommended))
    return (min(rates), max(rates)) if rates else None


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def _same_setup(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """The same model and optimizer (its rate aside: the range test sweeps it)."""
    optim_a = {k: v for k, v in (a.get("optim") or {}).items() if k != "lr"}
    optim_b = {k: v for k, v in (b.get("optim") or {}).items() if k != "lr"}
    return a.get("model") == b.get("model") and optim_a == optim_b


def finder_runs(store: Any) -> list[Any]:
    """The store's newest finished LR finder trials, newest first."""
    return store.list_trials(kind=LR_FINDER_KIND, status="completed", order_by="id", descending=True, limit=LOOKBACK)


def stored_band(store: Any, trial: Any, finders: list[Any] | None = None) -> tuple[float, float] | None:
    """The band of the newest finished LR finder trial on the same dataset with the same model and optimizer as
    `trial` (a TrialRecord); None when the store has none. `finders`: finder_runs(store), when already read."""
    for t in finders if finders is not None else finder_runs(store):
        if t.dataset_label == trial.dataset_label and _same_setup(t.config, trial.config):
            band = band_from(t.extra, t.lr)
            if band is not None:
                return band
    return None
