"""Plain data made safe for strict JSON (and for databases whose JSON type refuses NaN)."""

from __future__ import annotations

import math
from typing import Any


def finite_json(value: Any) -> Any:
    """The same nested dicts and lists, with every non-finite float replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_json(v) for v in value]
    return value
