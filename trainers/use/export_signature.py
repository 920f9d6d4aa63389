"""signature.json: everything a program needs to use an exported model without TuneLab — the input and output
tensors (with a symbolic batch axis), the preprocessing that turns raw CSV rows or image files into the input, the
class names, the metrics the model was scored with, its config, the parity check it passed and the versions that
wrote it."""

from __future__ import annotations

import json
import platform
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import torch

from trainers.spec.json_data import finite_json
from trainers.spec.version import VERSION
from trainers.store.records import TrialRecord
from trainers.use.export_check import ParityCheck
from trainers.use.export_formats import BATCH, INPUT_NAME, ONNX_FILE, OPSET, OUTPUT_NAME, PT2_FILE, STATE_FILE

SIGNATURE_FILE = "signature.json"
PREDICT_FILE = "predict.py"
FORMAT = "tunelab-export"
FORMAT_VERSION = 1
_METRICS = ("best_val_acc", "best_val_loss", "test_acc", "test_loss", "best_epoch", "epochs_run", "final_train_loss")


def versions() -> dict[str, str | None]:
    """The versions of what wrote and checked the export."""

    def installed(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    return {
        "tunelab": VERSION,
        "torch": torch.__version__,
        "onnx": installed("onnx"),
        "onnxscript": installed("onnxscript"),
        "onnxruntime": installed("onnxruntime"),
        "numpy": installed("numpy"),
        "python": platform.python_version(),
    }


def tensor_specs(input_shape: tuple[int, ...], num_classes: int, output: str = OUTPUT_NAME) -> dict[str, Any]:
    """The model's input and output: name, dtype and shape, the batch axis named rather than sized. `output` is
    "logits" (a trained network: float32) or "probabilities" (an ensemble: float64, already combined)."""
    meaning = (
        "logits: softmax over the last axis gives the class probabilities, in class_names order"
        if output == OUTPUT_NAME
        else "class probabilities (rows sum to 1), in class_names order"
    )
    out = {"name": output, "dtype": "float32" if output == OUTPUT_NAME else "float64", "shape": [BATCH, num_classes]}
    return {
        "inputs": [{"name": INPUT_NAME, "dtype": "float32", "shape": [BATCH, *input_shape]}],
        "outputs": [{**out, "meaning": meaning}],
    }


def trial_origin(trial: TrialRecord) -> dict[str, Any]:
    """Which stored trial the export came from, and its stored scores and config."""
    return {
        "trial": {"id": trial.id, "kind": trial.kind, "name": trial.name, "dataset": trial.dataset},
        "model": {"family": trial.model, "kind": "trial"},
        "metrics": {name: getattr(trial, name) for name in _METRICS},
        "config": trial.config,
    }


def build_signature(
    origin: dict[str, Any],
    preprocessing: dict[str, Any],
    input_shape: tuple[int, ...],
    class_names: list[str],
    check: ParityCheck,
    output: str = OUTPUT_NAME,
) -> dict[str, Any]:
    """The signature of an export; `origin` holds its trial (or ensemble file), model, metrics and config."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "trial": origin.get("trial"),
        "model": origin.get("model"),
        "files": {
            "onnx": ONNX_FILE,
            "exported_program": PT2_FILE,
            "state_dict": STATE_FILE,
            "predict": PREDICT_FILE,
        },
        "onnx_opset": OPSET,
        **tensor_specs(input_shape, len(class_names), output),
        "class_names": list(class_names),
        "preprocessing": preprocessing,
        "metrics": origin.get("metrics", {}),
        "check": check.to_json(),
        "config": origin.get("config", {}),
        "versions": versions(),
    }


def write_signature(signature: dict[str, Any], folder: Path) -> Path:
    path = folder / SIGNATURE_FILE
    path.write_text(json.dumps(finite_json(signature), indent=2) + "\n", encoding="utf-8")
    return path
