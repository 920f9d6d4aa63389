"""What turns raw input (CSV rows, image files, raw pixel arrays) into the float32 tensor a model trained on.

Each data source describes its own transform here when it loads, with the statistics of the training split, so the
description travels with every trial and ensemble: raw data in, the same tensor out. The description is plain JSON
(`to_json`), complete enough that a program with numpy and Pillow alone can repeat the transform.

Tables: per feature column in order, a number becomes (value - mean) / std in float64, then float32; a category
becomes a one-hot block over the training categories in order. Images: decoded by Pillow as training decodes them
(grayscale or RGB, resized bilinearly when the source resized), scaled to [0, 1], then (x - mean[c]) / std[c] per
channel in float32."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from trainers.spec.errors import DataError

FORMAT = 1
KINDS = ("table", "image")


@dataclass(frozen=True)
class Column:
    """One CSV feature column: numeric (standardised with mean and std) or categorical (one-hot)."""

    name: str
    kind: str  # "numeric" or "categorical"
    mean: float = 0.0
    std: float = 1.0
    categories: tuple[str, ...] = ()

    @property
    def width(self) -> int:
        return 1 if self.kind == "numeric" else len(self.categories)

    def to_json(self) -> dict[str, Any]:
        if self.kind == "numeric":
            return {"name": self.name, "kind": "numeric", "mean": self.mean, "std": self.std}
        return {"name": self.name, "kind": "categorical", "categories": list(self.categories)}

    @staticmethod
    def from_json(d: dict[str, Any]) -> Column:
        if d["kind"] == "numeric":
            return Column(str(d["name"]), "numeric", float(d["mean"]), float(d["std"]))
        return Column(str(d["name"]), "categorical", categories=tuple(str(c) for c in d["categories"]))


@dataclass(frozen=True)
class Preprocessing:
    """How raw input becomes the model's input tensor; `kind` is "table" or "image"."""

    kind: str
    class_names: tuple[str, ...]
    source: str  # the data source the model trained on (csv, image_folder, digits, mnist, ...)
    # tables
    columns: tuple[Column, ...] = ()
    target: str = ""
    delimiter: str = ","
    decimal: str = "."
    # images
    size: tuple[int, int] = (0, 0)  # (height, width)
    channels: int = 0
    resize: bool = False  # True: any image is resized to `size` (as training did); False: other sizes are refused
    mean: tuple[float, ...] = ()  # per channel, after scaling to [0, 1]; () means none
    std: tuple[float, ...] = ()
    raw_scale: float = 255.0  # what the source's raw pixel values run up to (digits: 16)

    @property
    def feature_columns(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def input_shape(self) -> tuple[int, ...]:
        if self.kind == "table":
            return (sum(c.width for c in self.columns),)
        return (self.channels, *self.size)

    def with_stats(self, mean: Sequence[float], std: Sequence[float]) -> Preprocessing:
        """The same images standardised per channel with these training statistics."""
        return replace(self, mean=tuple(float(v) for v in mean), std=tuple(float(v) for v in std))

    # ---- JSON -------------------------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": FORMAT,
            "kind": self.kind,
            "source": self.source,
            "class_names": list(self.class_names),
            "input_shape": list(self.input_shape),
        }
        if self.kind == "table":
            out.update(
                target=self.target,
                columns=[c.to_json() for c in self.columns],
                csv={"delimiter": self.delimiter, "decimal": self.decimal},
            )
        else:
            out.update(
                size=list(self.size),
                channels=self.channels,
                color="grayscale" if self.channels == 1 else "rgb",
                resize="bilinear" if self.resize else None,
                scale=1.0 / 255.0,
                raw_scale=self.raw_scale,
                mean=list(self.mean) or [0.0] * self.channels,
                std=list(self.std) or [1.0] * self.channels,
            )
        return out

    @staticmethod
    def from_json(d: dict[str, Any]) -> Preprocessing:
        """The description from `to_json`; a newer or damaged one is a DataError saying so."""
        if int(d.get("format", 0)) > FORMAT:
            raise DataError(f"the preprocessing was written by a newer TuneLab (format {d.get('format')})")
        try:
            kind, names, source = str(d["kind"]), tuple(str(c) for c in d["class_names"]), str(d.get("source", ""))
            if kind == "table":
                csv = d.get("csv") or {}
                return Preprocessing(
                    kind,
                    names,
                    source,
                    columns=tuple(Column.from_json(c) for c in d["columns"]),
                    target=str(d.get("target", "")),
                    delimiter=str(csv.get("delimiter", ",")),
                    decimal=str(csv.get("decimal", ".")),
                )
            h, w = (int(v) for v in d["size"])
            return Preprocessing(
                kind,
                names,
                source,
                size=(h, w),
                channels=int(d["channels"]),
                resize=d.get("resize") is not None,
                mean=tuple(float(v) for v in d["mean"]),
                std=tuple(float(v) for v in d["std"]),
                raw_scale=float(d.get("raw_scale", 255.0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"the stored preprocessing is damaged ({type(exc).__name__}: {exc})") from None

    # ---- tables -----------------------------------------------------------------------------------------------
    def check_header(self, header: Sequence[str], where: str) -> None:
        """A CSV to predict must hold every feature column; the label column may be there too, nothing else."""
        needed = self.feature_columns
        missing = [c for c in needed if c not in header]
        if missing:
            raise DataError(
                f"{where}: missing column(s) {', '.join(map(repr, missing))}; the model reads {_listed(needed)}"
            )
        extra = [c for c in header if c not in needed and c != self.target]
        if extra:
            raise DataError(
                f"{where}: column(s) {', '.join(map(repr, extra))} are not features of this model; it reads "
                f"{_listed(needed)}" + (f" (and the label {self.target!r})" if self.target else "")
            )

    def transform_row(self, row: dict[str, str], where: str = "row") -> np.ndarray:
        """One CSV row (cells as text, decimal point) as the model's float32 feature vector."""
        parts: list[np.ndarray] = []
        for col in self.columns:
            if col.name not in row:
                raise DataError(f"{where}: no column {col.name!r}")
            cell = str(row[col.name]).strip()
            if col.kind == "numeric":
                parts.append(np.array([(_number(cell, col.name, where) - col.mean) / col.std], dtype=np.float64))
            else:
                parts.append(_one_hot(cell, col, where))
        return np.concatenate(parts).astype(np.float32)

    def transform_rows(self, rows: Sequence[dict[str, str]]) -> np.ndarray:
        """(N, F) float32 features of CSV rows given as {column: cell text}; the first bad cell is a DataError."""
        if self.kind != "table":
            raise DataError(f"this model reads images ({self.source}), not CSV rows")
        if not rows:
            return np.zeros((0, *self.input_shape), dtype=np.float32)
        return np.stack([self.transform_row(r, f"row {i + 1}") for i, r in enumerate(rows)])

    # ---- images -----------------------------------------------------------------------------------------------
    def transform_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """Raw pixel values as the source stores them (0..raw_scale), shaped (N, C, H, W) or (N, C*H*W)."""
        x = np.asarray(pixels, dtype=np.float64).reshape(-1, *self.input_shape)
        return self.normalise((x / self.raw_scale).astype(np.float32))

    def normalise(self, x: np.ndarray) -> np.ndarray:
        """[0, 1] float32 images (N, C, H, W) standardised per channel, in float32 as training did."""
        if not self.mean:
            return x.astype(np.float32)
        mean = np.asarray(self.mean, dtype=np.float32).reshape(-1, 1, 1)
        std = np.asarray(self.std, dtype=np.float32).reshape(-1, 1, 1)
        return ((x - mean) / std).astype(np.float32)

    def transform_image(self, path: Path | str) -> np.ndarray:
        """One image file as the model's (C, H, W) float32 input; a file that cannot be used is a DataError."""
        from trainers.data.image_input import decode_for_model

        x = decode_for_model(Path(path), self.size, self.channels, self.resize, self.source)
        return self.normalise(x[None])[0]

    def transform_images(self, paths: Sequence[Path | str]) -> np.ndarray:
        """(N, C, H, W) float32 inputs of image files; the first bad file is a DataError naming it."""
        if self.kind != "image":
            raise DataError(f"this model reads CSV rows ({self.source}), not images")
        if not paths:
            return np.zeros((0, *self.input_shape), dtype=np.float32)
        return np.stack([self.transform_image(p) for p in paths])


def _listed(names: Sequence[str]) -> str:
    shown = ", ".join(map(repr, names[:12]))
    return shown + (f" and {len(names) - 12} more" if len(names) > 12 else "")


def _number(cell: str, column: str, where: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        shown = repr(cell) if cell else "an empty cell"
        raise DataError(f"{where}, column {column!r}: {shown} is not a finite number")
    return value


def _one_hot(cell: str, col: Column, where: str) -> np.ndarray:
    out = np.zeros(len(col.categories), dtype=np.float64)
    try:
        out[col.categories.index(cell)] = 1.0
    except ValueError:
        raise DataError(
            f"{where}, column {col.name!r}: {cell!r} was not seen in training; the model knows "
            f"{_listed(list(col.categories))}"
        ) from None
    return out
