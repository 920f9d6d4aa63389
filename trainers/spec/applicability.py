"""Which config fields the current choices make relevant: the one rule the engine, the store and the forms share.

A field *applies* when the chosen data source / model family / optimizer / schedule reads it. A field that does
not apply changes nothing a run does, so a saved config holds its default there: a CSV path left over from an
earlier choice must not make two digits trials look like different data or different experiments. (The forms hide
such fields; trainers/spec/config.py re-exports the tables.)
"""

from __future__ import annotations

import copy
from typing import Any, Mapping

TORCHVISION_SOURCES = ("mnist", "fashion_mnist", "kmnist", "cifar10", "cifar100", "svhn")
# Which optimizer fields each optimizer reads; the form shows only these.
OPTIMIZER_PARAMS: dict[str, tuple[str, ...]] = {
    "sgd": ("momentum", "nesterov"),
    "adam": ("beta1", "beta2", "eps", "amsgrad"),
    "adamw": ("beta1", "beta2", "eps", "amsgrad"),
    "rmsprop": ("alpha", "momentum", "eps", "centered"),
    "adagrad": ("lr_decay", "eps"),
}
# Which schedule fields each schedule reads (warmup_epochs applies to all).
SCHEDULE_PARAMS: dict[str, tuple[str, ...]] = {
    "constant": (),
    "step": ("step_size", "step_gamma"),
    "exponential": ("exp_gamma",),
    "cosine": ("min_lr",),
    "one_cycle": ("max_lr", "pct_start", "div_factor", "final_div_factor"),
    "plateau": ("plateau_factor", "plateau_patience", "min_lr"),
}
# Which data fields each source reads beyond the splits and normalisation every source has. Augmentation
# (flips, crops) acts on images only: a CSV table has none.
_IMAGE_AUGMENTATION = ("augment_flip", "augment_crop_padding")
DATA_PARAMS: dict[str, tuple[str, ...]] = {
    **{
        name: ("path", "download", "in_memory_limit_mb", "num_workers", *_IMAGE_AUGMENTATION)
        for name in TORCHVISION_SOURCES
    },
    "digits": _IMAGE_AUGMENTATION,
    "image_folder": ("path", "image_size", "in_memory_limit_mb", "num_workers", *_IMAGE_AUGMENTATION),
    "csv": ("path", "target_column"),
}
# Which model fields each family reads (dropout applies to all).
MODEL_PARAMS: dict[str, tuple[str, ...]] = {
    "mlp": ("hidden_layers", "hidden_units", "activation", "batch_norm"),
    "cnn": ("cnn_blocks", "cnn_channels", "kernel_size", "pooling", "activation", "batch_norm"),
    "resnet18": ("pretrained", "weights_path", "freeze_backbone"),
    "mobilenet_v3_small": ("pretrained", "weights_path", "freeze_backbone"),
    "efficientnet_b0": ("pretrained", "weights_path", "freeze_backbone"),
}

# The field whose choice decides each section's relevant fields, and the table for it.
CONTROLLERS: dict[str, str] = {
    "data": "data.source",
    "model": "model.family",
    "optim": "optim.name",
    "schedule": "schedule.name",
}
TABLES: dict[str, Mapping[str, tuple[str, ...]]] = {
    "data": DATA_PARAMS,
    "model": MODEL_PARAMS,
    "optim": OPTIMIZER_PARAMS,
    "schedule": SCHEDULE_PARAMS,
}
# Read whatever the choice is (besides the controller itself).
ALWAYS: dict[str, tuple[str, ...]] = {
    "data": (
        "train_fraction",
        "val_split",
        "test_split",
        "split_seed",
        "normalize",
    ),
    "model": ("dropout",),
    "optim": ("lr", "weight_decay"),
    "schedule": ("warmup_epochs",),
}


def applies(key: str, values: Mapping[str, Any]) -> bool:
    """Whether the field `key` ("data.path") is read, given the controller fields' values (by dotted key)."""
    section, _, name = key.partition(".")
    controller = CONTROLLERS.get(section)
    if controller is None or key == controller or name in ALWAYS[section]:
        return True
    return name in TABLES[section].get(values[controller], ())


def without_inapplicable(raw: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a config dict (RunConfig.to_dict's shape, or a stored trial's config) with every field that does
    not apply set to its default from `defaults` (by dotted key). Tolerant of partial or older dicts: a section
    without its controller, and a field `defaults` does not know, are left as they are."""
    out = copy.deepcopy(dict(raw))
    for section, controller in CONTROLLERS.items():
        part = out.get(section)
        choice = part.get(controller.partition(".")[2]) if isinstance(part, dict) else None
        if not isinstance(part, dict) or not isinstance(choice, str):
            continue
        for name in part:
            key = f"{section}.{name}"
            if key in defaults and not applies(key, {controller: choice}):
                part[name] = defaults[key]
    return out
