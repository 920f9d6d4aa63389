"""The check every export passes before its folder appears: ONNX Runtime, and the torch.export program read back
from its file, give the model's own outputs on the trial's held-out split.

What is compared are the logits (the raw outputs; probabilities are their softmax, which only shrinks
differences). An export passes when the largest absolute difference is at most TOLERANCE and every sample's
predicted class is the same; otherwise it fails with the numbers."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from trainers.data.bundle import Split, iter_batches
from trainers.spec.errors import ExportError
from trainers.use.export_formats import INPUT_NAME, load_exported_program

TOLERANCE = 1e-5
_BATCH = 256


@dataclass(frozen=True)
class ParityCheck:
    split: str  # the held-out split the outputs were compared on: "test", or "val" when the data has no test split
    samples: int
    compared: str  # what was compared: "logits"
    max_abs_diff: float  # ONNX Runtime against torch
    pt2_max_abs_diff: float  # the torch.export program (read back from model.pt2) against torch
    label_mismatches: int  # samples whose predicted class differs (ONNX Runtime or .pt2 against torch)
    tolerance: float = TOLERANCE

    @property
    def passed(self) -> bool:
        worst = max(self.max_abs_diff, self.pt2_max_abs_diff)
        return bool(np.isfinite(worst)) and worst <= self.tolerance and self.label_mismatches == 0

    @property
    def labels_equal(self) -> bool:
        return self.label_mismatches == 0

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "labels_equal": self.labels_equal, "passed": self.passed}

    def failure(self) -> str:
        """Why the export was refused, with the numbers."""
        return (
            f"the exported model does not compute what the trained model computes on the {self.split} split "
            f"({self.samples} samples): largest difference of the {self.compared} {self.max_abs_diff:.3g} (ONNX "
            f"Runtime) and {self.pt2_max_abs_diff:.3g} (torch.export), allowed {self.tolerance:g}; "
            f"{self.label_mismatches} predicted classes differ"
        )


def onnx_session(path: Path, threads: int = 1) -> Any:
    """An ONNX Runtime session on the CPU, as the exported predict.py opens one (default graph optimisations)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: its warnings are not the user's business
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for a model it cannot load
        first = str(exc).strip().splitlines()
        raise ExportError(
            f"{path.name}: ONNX Runtime cannot load it ({first[0] if first else type(exc).__name__})"
        ) from None


def check_parity(
    reference: Callable[[torch.Tensor], np.ndarray],
    onnx_path: Path,
    pt2_path: Path,
    split: Split,
    split_name: str,
    compared: str = "logits",
    tolerance: float = TOLERANCE,
) -> ParityCheck:
    """Compare the exported files with `reference` (what TuneLab computes: a model's logits, an ensemble's
    probabilities) on every sample of `split`."""
    session = onnx_session(onnx_path, torch.get_num_threads())
    program = load_exported_program(pt2_path)
    worst_onnx = worst_pt2 = 0.0
    mismatches = samples = 0
    with torch.no_grad():
        for xb, _ in iter_batches(split, _BATCH, shuffle=False, gen=torch.Generator(), device=torch.device("cpu")):
            x = xb.float().contiguous()
            expected = np.asarray(reference(x), dtype=np.float64)
            if not np.isfinite(expected).all():
                raise ExportError(
                    f"the trained model's outputs on the {split_name} split are not finite (NaN or inf): a model "
                    f"that diverged cannot be exported"
                )
            onnx_out = np.asarray(session.run(None, {INPUT_NAME: x.numpy()})[0], dtype=np.float64)
            pt2_out = program(x).double().numpy()
            worst_onnx = max(worst_onnx, _max_diff(onnx_out, expected))
            worst_pt2 = max(worst_pt2, _max_diff(pt2_out, expected))
            labels = expected.argmax(axis=1)
            mismatches += int(((onnx_out.argmax(axis=1) != labels) | (pt2_out.argmax(axis=1) != labels)).sum())
            samples += len(x)
    return ParityCheck(split_name, samples, compared, worst_onnx, worst_pt2, mismatches, tolerance)


def _max_diff(out: np.ndarray, reference: np.ndarray) -> float:
    if out.shape != reference.shape:
        raise ExportError(f"the exported model gives outputs of shape {out.shape}, the trained one {reference.shape}")
    diff = np.abs(out - reference)
    return float(np.nanmax(np.where(np.isfinite(diff), diff, np.inf))) if diff.size else 0.0
