"""A stored trial's config read back as a RunConfig."""

from __future__ import annotations

from typing import Any

from trainers.spec.config import RunConfig
from trainers.spec.errors import ConfigError


def stored_run_config(trial_id: int, raw: Any) -> RunConfig:
    """The trial's stored config, validated; a ConfigError naming the field and the trial when it no longer
    validates here (e.g. its CSV file moved, or a later version narrowed a range)."""
    try:
        return RunConfig.from_dict(raw)
    except ConfigError as err:
        raise ConfigError(err.field, err.value, f"{err.allowed} (in the config of trial {trial_id})") from None
