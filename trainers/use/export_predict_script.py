"""Predict with an exported TuneLab model: needs only onnxruntime and numpy (and Pillow for image models).

    python predict.py INPUT [--json] [--model model.onnx] [--signature signature.json]

INPUT is a CSV file (a model trained on a table) or an image file or folder of images (a model trained on
images). Each input is turned into the model's input exactly as TuneLab prepared its training data, following the
"preprocessing" section of signature.json; the ONNX model gives logits and their softmax gives the probabilities.
Output: one CSV line per input (id, predicted label, probability, top 3, error), or a JSON list with --json.
Exit status: 0 when every input was predicted, 1 when some could not be read (their error says why), 2 when the
input as a whole cannot be used (a missing column, images given to a table model).

This file is copied into every export folder by TuneLab; it imports nothing of TuneLab or PyTorch."""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np

HERE = Path(__file__).resolve().parent
TOP_K = 3
BATCH = 256
DELIMITERS = ",;\t"
GRAY_MODES = frozenset({"L", "1", "I", "I;16", "I;16L", "I;16B", "I;16N"})
TABLE_SUFFIXES = frozenset({".csv", ".tsv", ".txt"})
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+(?:[eE][+-]?\d+)?$")


class InputError(Exception):
    """The input as a whole cannot be used; the message names the file or column."""


class RowError(Exception):
    """One row or file cannot be used; the others are still predicted."""


# ---- tables ---------------------------------------------------------------------------------------------------
def sniff_delimiter(lines: list[str], default: str) -> str:
    """The delimiter that splits the header into most fields and every sampled row alike (TuneLab's rule)."""

    def widths(d: str) -> list[int]:
        return [len(r) for r in csv.reader(lines, delimiter=d) if r]

    def splits_alike(d: str) -> bool:
        w = widths(d)
        return bool(w) and w[0] > 1 and all(n in (w[0], w[0] + 1) for n in w)

    consistent = [d for d in DELIMITERS if splits_alike(d)]
    try:
        sniffed = csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:
        sniffed = ""
    if sniffed in consistent:
        return sniffed
    if consistent:
        return max(consistent, key=lambda d: widths(d)[0])
    return default


def read_table(path: Path, default_delimiter: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows, cells stripped, blank lines skipped, a decimal comma rewritten with a point."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read as UTF-8 text ({exc})") from None
    sample = [line for line in text.splitlines()[:50] if line.strip()]
    delimiter = sniff_delimiter(sample, default_delimiter) if sample else default_delimiter
    parsed = [r for r in csv.reader(text.splitlines(), delimiter=delimiter) if r]
    if not parsed:
        raise InputError(f"{path}: no header row")
    header = [c.strip() for c in parsed[0]]
    rows = []
    for i, r in enumerate(parsed[1:], start=1):
        if len(r) == len(header) + 1 and not r[-1].strip():
            r = r[:-1]  # a trailing delimiter
        if len(r) != len(header):
            raise InputError(f"{path}, row {i}: {len(r)} fields, but the header has {len(header)}")
        rows.append([c.strip() for c in r])
    if delimiter != "," and any(_DECIMAL_COMMA.match(c) for r in rows for c in r):
        rows = [[c.replace(",", ".") if _DECIMAL_COMMA.match(c) else c for c in r] for r in rows]
    return header, rows


def check_header(header: Sequence[str], prep: dict[str, Any], where: str) -> None:
    needed = [c["name"] for c in prep["columns"]]
    missing = [c for c in needed if c not in header]
    if missing:
        raise InputError(f"{where}: missing column(s) {', '.join(map(repr, missing))}; the model reads {needed}")
    extra = [c for c in header if c not in needed and c != prep.get("target")]
    if extra:
        raise InputError(f"{where}: column(s) {', '.join(map(repr, extra))} are not features of this model")


def row_features(row: dict[str, str], prep: dict[str, Any], where: str) -> np.ndarray:
    """One row's float32 feature vector: numbers standardised in float64, categories one-hot, in column order."""
    parts = []
    for col in prep["columns"]:
        cell = row[col["name"]].strip()
        if col["kind"] == "numeric":
            try:
                value = float(cell)
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                raise RowError(f"{where}, column {col['name']!r}: {cell!r} is not a finite number")
            parts.append(np.array([(value - col["mean"]) / col["std"]], dtype=np.float64))
        else:
            categories = col["categories"]
            if cell not in categories:
                raise RowError(f"{where}, column {col['name']!r}: {cell!r} was not seen in training")
            block = np.zeros(len(categories), dtype=np.float64)
            block[categories.index(cell)] = 1.0
            parts.append(block)
    return np.concatenate(parts).astype(np.float32)


def table_inputs(path: Path, prep: dict[str, Any]) -> list[tuple[str, np.ndarray | None, str]]:
    header, rows = read_table(path, (prep.get("csv") or {}).get("delimiter", ","))
    check_header(header, prep, str(path))
    out: list[tuple[str, np.ndarray | None, str]] = []
    for i, cells in enumerate(rows, start=1):
        try:
            out.append((str(i), row_features(dict(zip(header, cells)), prep, f"{path.name}, row {i}"), ""))
        except RowError as exc:
            out.append((str(i), None, str(exc)))
    return out


# ---- images ---------------------------------------------------------------------------------------------------
def image_array(path: Path, prep: dict[str, Any]) -> np.ndarray:
    """(C, H, W) float32: decoded, resized and scaled as TuneLab decoded training images, then standardised."""
    from PIL import Image

    h, w = (int(v) for v in prep["size"])
    channels = int(prep["channels"])
    try:
        with Image.open(path) as im:
            im.load()
            if channels == 1 and im.mode not in GRAY_MODES:
                raise RowError(f"{path}: a colour image ({im.mode}), but the model was trained on grayscale images")
            if prep.get("resize") is None and (im.height, im.width) != (h, w):
                raise RowError(f"{path}: {im.width}x{im.height} pixels, but the model takes {w}x{h} images")
            x = _decoded(im, (w, h), channels)
    except RowError:
        raise
    except Exception as exc:  # Pillow raises many types for a file that is not a readable image
        raise RowError(f"{path}: not an image ({type(exc).__name__})") from None
    mean = np.asarray(prep["mean"], dtype=np.float32).reshape(-1, 1, 1)
    std = np.asarray(prep["std"], dtype=np.float32).reshape(-1, 1, 1)
    return ((x - mean) / std).astype(np.float32)


def _decoded(im: Any, box: tuple[int, int], channels: int) -> np.ndarray:
    from PIL import Image

    if im.mode in GRAY_MODES:
        if im.mode.startswith("I"):  # 16-bit grayscale: its range scaled to [0, 1] before resizing in float
            scaled = np.clip(np.asarray(im, dtype=np.float32) / 65535.0, 0.0, 1.0)
            gray = np.asarray(Image.fromarray(scaled).resize(box, Image.Resampling.BILINEAR), dtype=np.float32)
        else:
            small = im.convert("L").resize(box, Image.Resampling.BILINEAR)
            gray = np.asarray(small, dtype=np.float32) / 255.0
        return np.repeat(gray[None], channels, axis=0)
    rgb = im.convert("RGB").resize(box, Image.Resampling.BILINEAR)
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.float32).transpose(2, 0, 1) / 255.0)


def image_inputs(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    files = [p for p in sorted(path.rglob("*")) if p.is_file()]
    return [p for p in files if not any(part.startswith(".") for part in p.relative_to(path).parts)]


# ---- the model ------------------------------------------------------------------------------------------------
def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def open_model(path: Path) -> Any:
    import onnxruntime as ort

    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def probabilities(session: Any, signature: dict[str, Any], x: np.ndarray) -> np.ndarray:
    name = signature["inputs"][0]["name"]
    parts = [session.run(None, {name: x[i : i + BATCH]})[0] for i in range(0, len(x), BATCH)]
    if not parts:
        return np.zeros((0, len(signature["class_names"])))
    out = np.concatenate(parts).astype(np.float64)
    # a single model gives logits; an exported ensemble gives its combined probabilities
    return out if signature["outputs"][0]["name"] == "probabilities" else softmax(out)


def predict(input_path: Path | str, folder: Path | str = HERE, model: Path | str | None = None) -> list[dict[str, Any]]:
    """One dict per input, as `tunelab predict --json` writes it: id (the CSV row number, or the image's path in
    the folder), label, probability and top (the 3 most probable classes); or id and error."""
    folder, path = Path(folder), Path(input_path)
    signature = json.loads((folder / "signature.json").read_text(encoding="utf-8"))
    prep, names = signature["preprocessing"], signature["class_names"]
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_file() and path.suffix.lower() in TABLE_SUFFIXES:
        if prep["kind"] != "table":
            raise InputError(f"{path}: a table, but the model reads images")
        items = table_inputs(path, prep)
    else:
        if prep["kind"] != "image":
            raise InputError(f"{path}: the model reads CSV rows; give a CSV file")
        items = []
        for f in image_inputs(path):
            ident = str(f.relative_to(path)) if path.is_dir() else f.name
            try:
                items.append((ident, image_array(f, prep), ""))
            except RowError as exc:
                items.append((ident, None, str(exc)))
    good = [x for _, x, _ in items if x is not None]
    session = open_model(Path(model) if model else folder / signature["files"]["onnx"])
    probs = iter(probabilities(session, signature, np.stack(good)) if good else [])
    out: list[dict[str, Any]] = []
    for ident, x, error in items:
        if x is None:
            out.append({"id": ident, "error": error})
            continue
        p = next(probs)
        top = [{"label": names[int(k)], "probability": float(p[k])} for k in np.argsort(-p, kind="stable")[:TOP_K]]
        out.append({"id": ident, "label": top[0]["label"], "probability": top[0]["probability"], "top": top})
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Predict with an exported TuneLab model (ONNX Runtime).")
    parser.add_argument("input", help="a CSV file, an image file or a folder of images")
    parser.add_argument("--json", action="store_true", help="print one JSON list instead of CSV lines")
    parser.add_argument("--model", default=None, help="the ONNX file (default: the one signature.json names)")
    parser.add_argument("--folder", default=str(HERE), help="the export folder holding signature.json")
    args = parser.parse_args(argv)
    try:
        rows = predict(args.input, args.folder, args.model)
    except InputError as exc:
        print(f"predict.py: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["id", "label", "probability", "top", "error"])
        for r in rows:
            top = "; ".join(f"{t['label']} {t['probability']:.4f}" for t in r.get("top", []))
            prob = f"{r['probability']:.6f}" if "probability" in r else ""
            writer.writerow([r["id"], r.get("label", ""), prob, top, r.get("error", "")])
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
