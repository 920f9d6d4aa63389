"""Which fields the current choices make relevant, derived from the engine's own tables.

A field is *active* when the chosen data source / model family / optimizer / schedule reads it and,
for early stopping, when early stopping is switched on. Inactive fields are hidden (or greyed out for
early stopping) and must never block training, so the form keeps them at a valid value.
"""

from __future__ import annotations

from typing import Any, Mapping

from trainers.spec.config import DATA_PARAMS, MODEL_PARAMS, OPTIMIZER_PARAMS, SCHEDULE_PARAMS

# The field whose choice decides each section's relevant fields, and the engine's table for it.
CONTROLLERS: dict[str, str] = {
    "data": "data.source",
    "model": "model.family",
    "optim": "optim.name",
    "schedule": "schedule.name",
}
_TABLES: dict[str, Mapping[str, tuple[str, ...]]] = {
    "data": DATA_PARAMS,
    "model": MODEL_PARAMS,
    "optim": OPTIMIZER_PARAMS,
    "schedule": SCHEDULE_PARAMS,
}
# Read whatever the choice is (besides the controller itself).
_ALWAYS: dict[str, tuple[str, ...]] = {
    "data": (
        "train_fraction",
        "val_split",
        "test_split",
        "split_seed",
        "augment_flip",
        "augment_crop_padding",
        "normalize",
    ),
    "model": ("dropout",),
    "optim": ("lr", "weight_decay"),
    "schedule": ("warmup_epochs",),
}
# Early-stopping fields other than this switch only matter while it is on.
ENABLE_SWITCH = "early_stop.enabled"

# Fields whose change can show, hide, enable or disable others.
TRIGGERS: frozenset[str] = frozenset((*CONTROLLERS.values(), ENABLE_SWITCH))

_WEIGHTS_FILTER = "PyTorch weights (*.pt *.pth);;All files (*)"
_CSV_FILTER = "CSV files (*.csv);;All files (*)"


def is_shown(key: str, values: Mapping[str, Any]) -> bool:
    """Whether the row for `key` is visible, given the current values of the controller fields."""
    section, _, name = key.partition(".")
    controller = CONTROLLERS.get(section)
    if controller is None or key == controller:
        return True
    if name in _ALWAYS[section]:
        return True
    return name in _TABLES[section].get(values[controller], ())


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
