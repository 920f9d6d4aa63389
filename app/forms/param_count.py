"""The parameter-count line beside the architecture fields.

Counting builds the model on torch's meta device, so it runs only after the window says the engine
(torch) is loaded; until then, and for data whose shape is unknown before reading, it says why not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from trainers.spec.config import ModelConfig
from trainers.spec.errors import ConfigError, TuneLabError
from trainers.spec.shapes import source_shape

NOT_READY = "Parameters: —"
UNKNOWN_SHAPE = "Parameters: counted when the data is read"
MODEL_INVALID = "Parameters: — (fix the marked architecture fields)"


@dataclass(frozen=True)
class CountText:
    text: str
    tooltip: str = ""
    is_error: bool = False


def format_count(total: int, trainable: int | None = None) -> str:
    if trainable is None:
        return f"Parameters: {total:,}"
    return f"Parameters: {total:,} (trainable {trainable:,})"


def describe(model_fields: Mapping[str, Any], source: str) -> CountText:
    """The label text for this model (its fields by name, each valid on its own) on this data source; needs torch,
    so call only once the engine is ready."""
    shape = source_shape(source)
    if shape is None:
        return CountText(UNKNOWN_SHAPE, "Image folders and CSV tables are measured when a run reads them.")
    try:
        model_cfg = ModelConfig(**model_fields)
    except ConfigError as exc:  # a rule between the model's fields: the message names the field to change
        return CountText(str(exc), str(exc), is_error=True)
    # Imported here: trainers.models imports torch and torchvision, which must not load with the form.
    from trainers.api import describe_model

    try:
        info = describe_model(model_cfg, shape.input_shape, shape.num_classes)
    except TuneLabError as exc:  # ModelError or ConfigError: a message the user can act on
        return CountText(str(exc), str(exc), is_error=True)
    return CountText(format_count(info.param_count, info.trainable_count), info.summary)
