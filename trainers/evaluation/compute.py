"""One split's evaluation from a model's class probabilities: every metric, and the input behind each mistake."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from torch import nn

from trainers.data.bundle import DatasetBundle, Split, iter_batches
from trainers.evaluation.calibration import DEFAULT_BINS, reliability
from trainers.evaluation.class_metrics import class_metrics, macro_average, weighted_average
from trainers.evaluation.confusion import confusion_counts, row_normalised
from trainers.evaluation.csv_rows import split_rows
from trainers.evaluation.evaluation import Evaluation, MistakeRow, mistake_rows
from trainers.evaluation.mistakes import DEFAULT_MISTAKES, top_mistakes
from trainers.spec.config import DataConfig


def evaluation_from_probs(
    probs: np.ndarray,
    y_true: np.ndarray,
    class_names: tuple[str, ...],
    *,
    trial_id: int = 0,
    kind: str = "train",
    split: str = "test",
    n_bins: int = DEFAULT_BINS,
    k: int = DEFAULT_MISTAKES,
) -> Evaluation:
    """Every metric of one split from its class probabilities (samples, classes) and true labels."""
    p = np.asarray(probs, dtype=np.float64)
    t = np.asarray(y_true, dtype=np.int64)
    pred = p.argmax(axis=1) if len(p) else np.zeros(0, dtype=np.int64)
    counts = confusion_counts(t, pred, len(class_names))
    per_class = class_metrics(counts)
    return Evaluation(
        trial_id=trial_id,
        kind=kind,
        split=split,
        class_names=tuple(class_names),
        samples=int(len(t)),
        accuracy=float(np.mean(pred == t)) if len(t) else 0.0,
        confusion=counts,
        confusion_normalised=row_normalised(counts),
        per_class=per_class,
        macro=macro_average(per_class),
        weighted=weighted_average(per_class),
        reliability=reliability(p.max(axis=1) if len(p) else np.zeros(0), pred == t, n_bins),
        mistakes=mistake_rows(top_mistakes(p, t, k), tuple(class_names)),
    )


def model_probabilities(model: nn.Module, split: Split, batch_size: int = 512) -> np.ndarray:
    """Softmax class probabilities (samples, classes), float64, in the split's order, without gradients; the model
    is left in eval mode."""
    device = next(model.parameters()).device
    model.eval()
    parts: list[torch.Tensor] = []
    with torch.no_grad():
        for xb, _ in iter_batches(split, batch_size, shuffle=False, gen=torch.Generator(), device=device):
            parts.append(torch.softmax(model(xb).double(), dim=1).cpu())
    if not parts:
        return np.zeros((0, 0), dtype=np.float64)
    return torch.cat(parts).numpy()


def split_labels(split: Split) -> np.ndarray:
    """The split's labels in order (a streamed split is read once)."""
    if split.in_memory:
        assert split.y is not None
        return split.y.cpu().numpy().astype(np.int64)
    batches = iter_batches(split, 1024, shuffle=False, gen=torch.Generator(), device=torch.device("cpu"))
    return torch.cat([yb for _, yb in batches]).numpy().astype(np.int64)


def with_inputs(ev: Evaluation, data_cfg: DataConfig, data: DatasetBundle) -> Evaluation:
    """Say how mistakes' inputs are shown (images by split index); a CSV's mistakes carry their rows as written."""
    if data.is_image:
        return dataclasses.replace(ev, inputs="image")
    if data_cfg.source != "csv" or not ev.mistakes:
        return ev
    header, rows, lines = split_rows(data_cfg, ev.split)
    if len(rows) != ev.samples:  # the file changed since the run: its rows no longer match the split
        note = f"{data_cfg.path} changed since the run: the mistakes' rows are not shown"
        return dataclasses.replace(ev, notes=(*ev.notes, note))
    filled = tuple(
        MistakeRow(m.index, m.true, m.predicted, m.confidence, tuple(rows[m.index]), lines[m.index])
        for m in ev.mistakes
    )
    return dataclasses.replace(ev, mistakes=filled, columns=tuple(header))
