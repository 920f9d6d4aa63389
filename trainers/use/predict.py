"""Predict with a trained model on raw input: a CSV file, an image file, or a folder of images.

Each input is preprocessed as the model's training data was (trainers.data.preprocessing). A problem with the
whole input (a missing or extra column, images given to a table model) is one DataError; a problem with one row or
file (an unseen category, a non-image file, a wrong size or channel count) becomes that row's one-line error and
every other input is still predicted."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from trainers.data.csv_table import read_table
from trainers.data.image_decode import IMAGE_EXTENSIONS
from trainers.spec.errors import DataError
from trainers.spec.predictions import TOP_K, PredictionRow, PredictionTable
from trainers.store import TrialStore
from trainers.use.predictor import Predictor, ensemble_predictor, trial_predictor

TABLE_SUFFIXES = frozenset({".csv", ".tsv", ".txt"})
_BATCH = 1024  # inputs preprocessed and predicted at a time, so a large folder never sits in memory whole


def predict(
    store: TrialStore | None,
    input_path: Path | str | Sequence[Path | str],
    *,
    trial_id: int | None = None,
    ensemble_file: Path | str | None = None,
    device: str = "cpu",
) -> PredictionTable:
    """Predictions of a stored trial (`trial_id`, needs `store`) or an ensemble file for every input: a CSV file,
    an image, a folder of images, or a list of image files (as dropped on the window)."""
    if (trial_id is None) == (ensemble_file is None):
        raise DataError("predict needs a trial or an ensemble file (one of them)")
    if ensemble_file is not None:
        predictor = ensemble_predictor(ensemble_file, device)
    else:
        if store is None:
            raise DataError("predicting with a stored trial needs the trial store")
        assert trial_id is not None
        predictor = trial_predictor(store, trial_id, device)
    if isinstance(input_path, (str, Path)):
        return predict_with(predictor, Path(input_path).expanduser())
    paths = [Path(p).expanduser() for p in input_path]
    if len(paths) == 1:
        return predict_with(predictor, paths[0])
    return _predict_files(predictor, paths)


def _predict_files(predictor: Predictor, paths: list[Path]) -> PredictionTable:
    """Several files at once: images, each predicted or reported on its own line."""
    if not paths:
        raise DataError("nothing to predict: give a CSV file, an image or a folder of images")
    if predictor.prep.kind != "image":
        raise DataError(f"{len(paths)} files given, but the model reads one CSV file at a time")
    rows = _predicted_images(predictor, paths, [p.name for p in paths], [""] * len(paths))
    shown = f"{len(paths)} files in {paths[0].parent}"
    return PredictionTable(predictor.name, shown, predictor.prep.class_names, tuple(rows))


def predict_with(predictor: Predictor, path: Path) -> PredictionTable:
    """Every input of `path` through `predictor`, in input order."""
    prep = predictor.prep
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_file() and path.suffix.lower() in TABLE_SUFFIXES:
        if prep.kind != "table":
            raise DataError(f"{path}: a table, but the model reads images ({prep.source}); give an image or a folder")
        rows = _table_rows(predictor, path)
    else:
        if prep.kind != "image":
            raise DataError(
                f"{path}: the model reads CSV rows (columns {', '.join(prep.feature_columns)}); give a CSV file"
            )
        rows = _image_rows(predictor, path)
    return PredictionTable(predictor.name, str(path), prep.class_names, tuple(rows))


def _table_rows(predictor: Predictor, path: Path) -> list[PredictionRow]:
    prep = predictor.prep
    table = read_table(path)
    prep.check_header(table.header, str(path))
    has_truth = bool(prep.target) and prep.target in table.header
    ids: list[str] = []
    xs: list[np.ndarray | None] = []
    truths: list[str] = []
    failed: dict[int, str] = {}
    for i, (cells, line) in enumerate(zip(table.rows, table.lines)):
        row = dict(zip(table.header, cells))
        ids.append(str(i + 1))
        truths.append(row[prep.target] if has_truth else "")
        try:
            xs.append(prep.transform_row(row, f"{path.name}, row {i + 1} (line {line})"))
        except DataError as exc:
            failed[i] = str(exc)
            xs.append(None)
    return _predicted(predictor, ids, xs, truths, failed)


def _image_rows(predictor: Predictor, path: Path) -> list[PredictionRow]:
    files = [path] if path.is_file() else _folder_files(path)
    if not files:
        raise DataError(f"{path}: no files in this folder ({', '.join(sorted(IMAGE_EXTENSIONS))} images are read)")
    names = set(predictor.prep.class_names)
    ids = [str(f.relative_to(path)) if path.is_dir() else f.name for f in files]
    # an image in a sub-folder named after a class (the training layout) says its true class
    truths = [f.parent.name if path.is_dir() and f.parent != path and f.parent.name in names else "" for f in files]
    return _predicted_images(predictor, files, ids, truths)


def _predicted_images(
    predictor: Predictor, files: list[Path], ids: list[str], truths: list[str]
) -> list[PredictionRow]:
    """Image files decoded and predicted a batch at a time; a file that cannot be used is reported on its row."""
    rows: list[PredictionRow] = []
    for start in range(0, len(files), _BATCH):
        chunk = files[start : start + _BATCH]
        xs: list[np.ndarray | None] = []
        failed: dict[int, str] = {}
        for i, f in enumerate(chunk):
            try:
                xs.append(predictor.prep.transform_image(f))
            except DataError as exc:
                failed[i] = str(exc)
                xs.append(None)
        end = start + len(chunk)
        rows += _predicted(predictor, ids[start:end], xs, truths[start:end], failed)
    return rows


def _folder_files(folder: Path) -> list[Path]:
    """Every file under `folder` (sub-folders too), hidden ones skipped; non-images are reported, not skipped."""
    found = []
    for p in sorted(folder.rglob("*")):
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts):
            found.append(p)
    return found


def _predicted(
    predictor: Predictor, ids: list[str], xs: list[np.ndarray | None], truths: list[str], failed: dict[int, str]
) -> list[PredictionRow]:
    """Rows in input order: the good inputs predicted as one batch, the failed ones carrying their error."""
    good = [i for i, x in enumerate(xs) if x is not None]
    probs = predictor.proba(np.stack([xs[i] for i in good])) if good else np.zeros((0, 0))  # type: ignore[misc]
    names = predictor.prep.class_names
    by_index = {i: probs[k] for k, i in enumerate(good)}
    out: list[PredictionRow] = []
    for i, ident in enumerate(ids):
        if i in failed:
            out.append(PredictionRow(ident, error=failed[i], truth=truths[i]))
            continue
        p = by_index[i]
        order = np.argsort(-p, kind="stable")[:TOP_K]
        top = tuple((names[int(k)], float(p[k])) for k in order)
        out.append(PredictionRow(ident, top[0][0], top[0][1], top, truth=truths[i]))
    return out
