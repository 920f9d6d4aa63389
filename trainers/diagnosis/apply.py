"""An intervention made: the run config the diagnosis suggests, ready to train.

Torch-free: the LR finder intervention takes the finished range test's result (run by the caller, the window's
Apply or the CLI) and sets the rate it recommends, by the same rule the store and the window use.
"""

from __future__ import annotations

from typing import Any

from trainers.diagnosis.interventions import Intervention
from trainers.spec.config import RunConfig
from trainers.spec.errors import ConfigError
from trainers.spec.rates import recommended_rate, with_learning_rate


def apply_intervention(cfg: RunConfig, item: Intervention, lr_finder_result: Any = None) -> RunConfig:
    """`cfg` with `item` made. "lr_finder" needs the range test's result (a LrFinderResult) and sets every field
    that sets the training rate to its recommended rate; a ConfigError says when there is no result or it
    recommends nothing. Other interventions change the fields they name (validated)."""
    if item.key != "lr_finder":
        return item.apply(cfg)
    if lr_finder_result is None:
        raise ConfigError("lr_finder", None, "a finished LR finder run: run the range test first")
    rate = recommended_rate(lr_finder_result)
    if rate is None:
        why = getattr(lr_finder_result, "message", "") or "its suggestions agree on no rate"
        raise ConfigError(
            "lr_finder",
            f"trial {getattr(lr_finder_result, 'trial_id', None)}",
            f"a run that recommends a rate; this one recommends none ({why}), so the rate is left as it was",
        )
    return with_learning_rate(cfg, rate)
