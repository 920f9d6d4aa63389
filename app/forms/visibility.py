"""Which fields the current choices make relevant, by the engine's own rule (trainers/spec/applicability.py).

A field is *active* when the chosen data source / model family / optimizer / schedule reads it and,
for early stopping, when early stopping is switched on. Inactive fields are hidden (or greyed out for
early stopping) and must never block training, so the form keeps them at a valid value.
"""

from __future__ import annotations

from typing import Any, Mapping

from trainers.spec.applicability import CONTROLLERS, applies

# Early-stopping fields other than this switch only matter while it is on.
ENABLE_SWITCH = "early_stop.enabled"

# Fields whose change can show, hide, enable or disable others.
TRIGGERS: frozenset[str] = frozenset((*CONTROLLERS.values(), ENABLE_SWITCH))

_WEIGHTS_FILTER = "PyTorch weights (*.pt *.pth);;All files (*)"
_CSV_FILTER = "CSV files (*.csv);;All files (*)"


def is_shown(key: str, values: Mapping[str, Any]) -> bool:
    """Whether the row for `key` is visible: the field applies to the current choices (the engine's rule, which
    also decides what a saved config keeps)."""
    return applies(key, values)


def is_switched_on(key: str, values: Mapping[str, Any]) -> bool:
    """False for early-stopping settings while early stopping is off (shown greyed out, not hidden)."""
    if key.startswith("early_stop.") and key != ENABLE_SWITCH:
        return bool(values[ENABLE_SWITCH])
    return True


def browse_mode(key: str, values: Mapping[str, Any]) -> tuple[str, str] | None:
    """("dir" | "file", name filter) for fields picked with a file dialog; None for the rest."""
    if key == "data.path":
        return ("file", _CSV_FILTER) if values["data.source"] == "csv" else ("dir", "")
    if key == "model.weights_path":
        return ("file", _WEIGHTS_FILTER)
    return None
