"""An evaluation as plain data: what the Evaluation view, `tunelab evaluate` and reports show, stored with the
trial as JSON so it opens without touching the model again."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from trainers.evaluation.calibration import Reliability
from trainers.evaluation.class_metrics import Averages, ClassMetrics
from trainers.evaluation.mistakes import Mistake

SPLITS = ("test", "val")
FORMAT_VERSION = 1


@dataclass(frozen=True)
class MistakeRow:
    """A confident mistake and the input to show: the split index (images: the view draws a thumbnail of it) and,
    for a CSV, the row as written in the file."""

    index: int
    true: str
    predicted: str
    confidence: float
    row: tuple[str, ...] = ()  # CSV cells in `Evaluation.columns` order; empty for images
    line: int | None = None  # the CSV file line the row is on


@dataclass(frozen=True)
class Evaluation:
    trial_id: int
    kind: str  # "train" or "ensemble"
    split: str  # "test" or "val"
    class_names: tuple[str, ...]
    samples: int
    accuracy: float
    confusion: np.ndarray  # (K, K) int64 counts, rows true, columns predicted
    confusion_normalised: np.ndarray  # (K, K) float64, each row sums to 1 (an absent class's row is 0)
    per_class: ClassMetrics
    macro: Averages
    weighted: Averages
    reliability: Reliability
    mistakes: tuple[MistakeRow, ...]
    inputs: str = "table"  # "image" or "table": how a mistake's input is shown
    columns: tuple[str, ...] = ()  # the CSV header, for mistakes' rows
    source: str = ""  # the checkpoint or ensemble file evaluated
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ece(self) -> float:
        return self.reliability.ece

    def to_dict(self) -> dict[str, Any]:
        raw = asdict(self)
        raw["version"] = FORMAT_VERSION
        return _plain(raw)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Evaluation:
        pc, rel = raw["per_class"], raw["reliability"]
        return cls(
            int(raw["trial_id"]),
            str(raw["kind"]),
            str(raw["split"]),
            tuple(raw["class_names"]),
            int(raw["samples"]),
            float(raw["accuracy"]),
            np.asarray(raw["confusion"], dtype=np.int64),
            np.asarray(raw["confusion_normalised"], dtype=np.float64),
            ClassMetrics(_floats(pc["precision"]), _floats(pc["recall"]), _floats(pc["f1"]), _ints(pc["support"])),
            Averages(**raw["macro"]),
            Averages(**raw["weighted"]),
            Reliability(
                _floats(rel["edges"]),
                _ints(rel["counts"]),
                _floats(rel["accuracy"]),
                _floats(rel["confidence"]),
                float(rel["ece"]),
            ),
            tuple(
                MistakeRow(m["index"], m["true"], m["predicted"], m["confidence"], tuple(m["row"]), m["line"])
                for m in raw["mistakes"]
            ),
            str(raw.get("inputs", "table")),
            tuple(raw.get("columns", ())),
            str(raw.get("source", "")),
            tuple(raw.get("notes", ())),
        )

    @classmethod
    def from_json(cls, text: str) -> Evaluation:
        return cls.from_dict(json.loads(text))


def _floats(values: Any) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


def _ints(values: Any) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


def _plain(value: Any) -> Any:
    """numpy arrays and scalars as lists and Python numbers, so the dict is JSON."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def mistake_rows(mistakes: list[Mistake], class_names: tuple[str, ...]) -> tuple[MistakeRow, ...]:
    return tuple(MistakeRow(m.index, class_names[m.true], class_names[m.predicted], m.confidence) for m in mistakes)
