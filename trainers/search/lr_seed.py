"""Seeding a search with the LR finder: a range test on the base config first, the lr range centred on the band
its suggestions agree on (the user's width in decades, clipped to the user's bounds), and the rate it recommends
tried as the first trial. Whether this helps is measured by tests/bench/bench_search.py, not assumed."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from trainers.lr_finder.trial import run_lr_finder
from trainers.spec.config import RunConfig
from trainers.spec.events import RunControl, Sink
from trainers.spec.rates import recommended_rate
from trainers.spec.search_param import ParamSpec
from trainers.spec.search_settings import SearchSettings
from trainers.spec.search_space import SearchSpace
from trainers.store import TrialStore

LR = "optim.lr"


def seedable(space: SearchSpace, settings: SearchSettings) -> bool:
    """Seeding applies when it is asked for and the space searches optim.lr over a log range."""
    p = space.param(LR)
    return settings.lr_finder_seed and p is not None and p.mode == "float" and p.log


def centred_range(low: float, high: float, band: tuple[float, float]) -> tuple[float, float] | None:
    """The range of the user's width in decades centred on the band's geometric middle, clipped to [low, high];
    None when the middle lies outside the user's range."""
    middle = math.sqrt(band[0] * band[1])
    if not low <= middle <= high:
        return None
    half = math.sqrt(high / low)  # half the width, as a factor
    return max(low, middle / half), min(high, middle * half)


def seed_learning_rate(
    cfg: RunConfig, space: SearchSpace, *, store: TrialStore, sink: Sink, control: RunControl
) -> tuple[SearchSpace, float | None, dict[str, Any]]:
    """Run the LR finder on `cfg` and centre the lr range on its band: (the space, the rate to try first or None,
    what was done, for the search trial's record)."""
    p = space.param(LR)
    assert p is not None and p.low is not None and p.high is not None
    result = run_lr_finder(cfg, sink=sink, control=control, store=store)
    rate = recommended_rate(result)
    done: dict[str, Any] = {"lr_finder_trial": result.trial_id, "status": result.status, "range_before": p.text()}
    if result.status != "completed" or result.agreed is None or rate is None:
        done["note"] = f"no agreed band ({result.message or result.status}): the lr range is unchanged"
        return space, None, done
    done["band"] = list(result.agreed)
    bounds = centred_range(p.low, p.high, result.agreed)
    if bounds is None:
        done["note"] = "the LR finder's band lies outside the searched lr range: the range is unchanged"
        return space, None, done
    moved = dataclasses.replace(p, low=bounds[0], high=bounds[1])
    params = [moved if q.field == LR else q for q in space.params]
    seeded = SearchSpace.of_params(params, cfg)
    first = min(max(rate, bounds[0]), bounds[1])
    done.update(range_after=_text(seeded.param(LR)), first_rate=first, note="lr range centred on the LR finder's band")
    return seeded, first, done


def _text(p: ParamSpec | None) -> str:
    return p.text() if p is not None else ""
