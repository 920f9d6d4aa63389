"""What a prediction run returns: one row per input (a CSV row or an image file) with the predicted class, its
probability and the top three, or the one-line reason this input could not be predicted. Plain data (strings and
floats), so it crosses threads and is written as JSON or CSV without the engine."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainers.spec.errors import DataError

TOP_K = 3


@dataclass(frozen=True)
class PredictionRow:
    id: str  # the CSV row number (1 = the first row below the header) or the image's file name
    label: str = ""  # the predicted class; "" when the input could not be predicted
    probability: float = 0.0  # of the predicted class
    top: tuple[tuple[str, float], ...] = ()  # the TOP_K most probable classes, best first
    error: str = ""  # one line: why this input was not predicted (nothing else is affected)
    truth: str = ""  # the true class when the input says it (the CSV's label column, the image's class folder)

    @property
    def correct(self) -> bool | None:
        if self.error or not self.truth:
            return None
        return self.label == self.truth

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id}
        if self.error:
            out["error"] = self.error
        else:
            out.update(
                label=self.label,
                probability=self.probability,
                top=[{"label": c, "probability": p} for c, p in self.top],
            )
        if self.truth:
            out["truth"] = self.truth
        return out


@dataclass(frozen=True)
class PredictionTable:
    model: str  # what predicted: "trial 12", or the ensemble file's name
    input: str  # the CSV file, image or folder read
    class_names: tuple[str, ...]
    rows: tuple[PredictionRow, ...]

    @property
    def predicted(self) -> int:
        return sum(1 for r in self.rows if not r.error)

    @property
    def errors(self) -> list[str]:
        return [r.error for r in self.rows if r.error]

    @property
    def accuracy(self) -> float | None:
        """The share of inputs with a known true class that were predicted right (None when none says)."""
        judged = [r.correct for r in self.rows if r.correct is not None]
        return sum(judged) / len(judged) if judged else None

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "input": self.input,
            "class_names": list(self.class_names),
            "predicted": self.predicted,
            "failed": len(self.rows) - self.predicted,
            "accuracy": self.accuracy,
            "rows": [r.to_json() for r in self.rows],
        }

    def write_csv(self, path: Path | str) -> Path:
        """id, predicted, probability, top-3 as class:probability pairs, truth and error: one line per input."""
        target = Path(path).expanduser()
        header = ["id", "predicted", "probability"]
        header += [f"top{k + 1}{what}" for k in range(TOP_K) for what in ("", "_probability")]
        header += ["truth", "error"]
        try:
            with open(target, "w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow(header)
                for r in self.rows:
                    tops: list[str] = []
                    for k in range(TOP_K):
                        c, p = r.top[k] if k < len(r.top) else ("", None)
                        tops += [c, "" if p is None else f"{p:.6f}"]
                    prob = "" if r.error else f"{r.probability:.6f}"
                    w.writerow([r.id, r.label, prob, *tops, r.truth, r.error])
        except OSError as exc:
            raise DataError(f"{target}: cannot be written ({exc.strerror or exc})") from None
        return target
