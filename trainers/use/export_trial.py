"""Export a stored training trial's model to one folder other programs can use without TuneLab:

    model.onnx      the network (torch.onnx dynamo exporter, one file, dynamic batch)
    model.pt2       the same as a torch.export program
    model.pt        its state dict (torch.load(..., weights_only=True))
    signature.json  inputs, outputs, preprocessing, class names, metrics, config, the check it passed, versions
    predict.py      raw CSV rows or image files in, classes out, with onnxruntime and numpy alone

Every export is checked before the folder appears: ONNX Runtime and the .pt2 program against torch on the trial's
test split (the validation split when the data has none). A failed check is an ExportError with the numbers, and
no folder is left behind."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from trainers.data.bundle import DatasetBundle, Split, iter_batches
from trainers.spec.errors import ExportError
from trainers.store import TrialStore
from trainers.use import export_predict_script
from trainers.use.export_check import ParityCheck, check_parity
from trainers.use.export_folder import staged_folder, usable_target
from trainers.use.export_formats import (
    ONNX_FILE,
    PT2_FILE,
    STATE_FILE,
    write_exported_program,
    write_onnx,
    write_state_dict,
)
from trainers.use.export_signature import PREDICT_FILE, SIGNATURE_FILE, build_signature, trial_origin, write_signature
from trainers.use.preprocessing import preprocessing_for_trial
from trainers.use.trial_model import load_trial_model, trial_bundle


@dataclass(frozen=True)
class ExportResult:
    trial_id: int
    folder: str
    files: tuple[str, ...]
    check: ParityCheck
    seconds: float
    source: str = ""  # what was exported, in words ("ensemble file best.tlens"); "" for trial `trial_id`

    def to_json(self) -> dict[str, Any]:
        return {
            "trial_id": self.trial_id,
            "folder": self.folder,
            "files": list(self.files),
            "check": self.check.to_json(),
            "seconds": round(self.seconds, 3),
            "source": self.source or f"trial {self.trial_id}",
        }

    def summary(self) -> str:
        c = self.check
        return (
            f"Exported {self.source or f'trial {self.trial_id}'} to {self.folder}: ONNX Runtime matches torch on "
            f"{c.samples} {c.split} samples (largest difference of the {c.compared} {c.max_abs_diff:.2g}, "
            f"same classes)"
        )


def export_trial(store: TrialStore, trial_id: int, out_dir: Path | str) -> ExportResult:
    """Write the training trial's export folder at `out_dir` (a new or empty folder) and check it; see the module
    doc. (Ensembles: trainers.use.export_model.export_model takes either.)"""
    start = time.perf_counter()
    trial = store.get_trial(trial_id)
    if trial.running:
        raise ExportError(f"trial {trial_id} is still running: export it once it has ended")
    if trial.kind != "train":
        raise ExportError(
            f"trial {trial_id} is a {trial.kind} trial: only training runs and ensembles have a model to export"
        )
    target = usable_target(out_dir)
    bundle = trial_bundle(store, trial_id)
    loaded = load_trial_model(store, trial_id, "cpu", bundle=bundle)
    prep = preprocessing_for_trial(store, trial_id, bundle).to_json()
    split_name, split = held_out(bundle)
    with staged_folder(target) as folder:
        check = write_and_check(loaded.model, split, split_name, folder)
        write_state_dict(loaded.model, folder / STATE_FILE)
        signature = build_signature(trial_origin(trial), prep, loaded.input_shape, list(loaded.class_names), check)
        write_signature(signature, folder)
        write_predict_script(folder)
    return ExportResult(trial_id, str(target), FILES, check, time.perf_counter() - start)


FILES = (ONNX_FILE, PT2_FILE, STATE_FILE, SIGNATURE_FILE, PREDICT_FILE)


def held_out(bundle: DatasetBundle) -> tuple[str, Split]:
    """The split exports are checked on: test, else validation."""
    if bundle.test is not None and len(bundle.test) > 0:
        return "test", bundle.test
    return "val", bundle.val


def example_batch(split: Split) -> torch.Tensor:
    """Two real samples to trace with (two, not one: a batch of one would fix the batch size in the program)."""
    xb, _ = next(iter_batches(split, 2, shuffle=False, gen=torch.Generator(), device=torch.device("cpu")))
    xb = xb.float()
    return torch.cat([xb, xb])[:2].contiguous()


def write_and_check(model: nn.Module, split: Split, split_name: str, folder: Path) -> ParityCheck:
    """model.onnx and model.pt2 written in `folder`, then compared with `model` on `split`; a failed check raises."""
    model = model.cpu().eval()
    example = example_batch(split)
    write_exported_program(model, example, folder / PT2_FILE)
    write_onnx(model, example, folder / ONNX_FILE)

    def logits(x: torch.Tensor) -> np.ndarray:
        return model(x).double().numpy()

    check = check_parity(logits, folder / ONNX_FILE, folder / PT2_FILE, split, split_name)
    if not check.passed:
        raise ExportError(check.failure())
    return check


def write_predict_script(folder: Path) -> Path:
    """The stand-alone predict.py (onnxruntime and numpy only), copied as it ships with TuneLab."""
    source = Path(export_predict_script.__file__).with_suffix(".py")  # a frozen app names its byte code (.pyc)
    return Path(shutil.copyfile(source, folder / PREDICT_FILE))
