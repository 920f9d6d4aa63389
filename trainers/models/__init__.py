"""Architecture registry: MLP, CNN and torchvision models adapted to the data's shape and classes."""

from __future__ import annotations

from trainers.models.build import ModelInfo, build_model, describe_model
from trainers.models.summary import count_parameters, model_summary
from trainers.models.weights import pretrained_weights_path

__all__ = [
    "ModelInfo",
    "build_model",
    "count_parameters",
    "describe_model",
    "model_summary",
    "pretrained_weights_path",
]
