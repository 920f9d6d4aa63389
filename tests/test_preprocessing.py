"""Preprocessing travels with the model: raw data in (CSV rows, image files, the bundled digits' pixels) gives the
very tensors the data source built for training, through the stored JSON description alone."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from idx_files import write_idx
from PIL import Image

from trainers.data import DatasetBundle, load_dataset
from trainers.data.bundle import as_int_labels
from trainers.data.common import split_indices
from trainers.data.digits import read_digits
from trainers.data.image_folder import find_images
from trainers.spec.config import DataConfig
from trainers.spec.errors import DataError
from trainers.use.preprocessing import Preprocessing

HEADER = ["height", "colour", "weight", "species"]


def write_csv(path: Path, n: int = 90, delimiter: str = ",", decimal: str = ".") -> Path:
    rng = np.random.default_rng(1)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(HEADER)
        for i in range(n):
            k = i % 3
            height = f"{10 + 5 * k + rng.normal():.3f}".replace(".", decimal)
            weight = f"{100 * k + rng.normal() * 10:.2f}".replace(".", decimal)
            w.writerow([height, ["red", "green", "blue"][i % 3 if i % 2 else 0], weight, ["cat", "dog", "eel"][k]])
    return path


def _test_indices(labels: np.ndarray, cfg: DataConfig) -> np.ndarray:
    _, _, te = split_indices(
        labels,
        val_split=cfg.val_split,
        test_split=cfg.test_split,
        seed=cfg.split_seed,
        train_fraction=cfg.train_fraction,
        where="test",
    )
    return te


def _round_trip(bundle: DatasetBundle) -> Preprocessing:
    assert bundle.preprocessing is not None
    text = json.dumps(bundle.preprocessing.to_json())  # plain JSON, nothing else
    return Preprocessing.from_json(json.loads(text))


def _raw_rows(path: Path, delimiter: str = ",", decimal: str = ".") -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter=delimiter))
    return [{k: v.replace(decimal, ".") if k != "colour" else v for k, v in r.items()} for r in rows]


@pytest.mark.parametrize("normalize", [True, False])
def test_csv_rows_give_the_test_tensor(tmp_path: Path, normalize: bool) -> None:
    path = write_csv(tmp_path / "animals.csv")
    cfg = DataConfig(source="csv", path=str(path), normalize=normalize, split_seed=3)
    bundle = load_dataset(cfg)
    prep = _round_trip(bundle)
    assert prep.kind == "table" and prep.feature_columns == ["height", "colour", "weight"]
    assert prep.target == "species" and prep.class_names == ("cat", "dog", "eel")
    assert prep.input_shape == bundle.input_shape
    rows = _raw_rows(path)
    labels, _ = as_int_labels([r["species"] for r in rows])
    te = _test_indices(labels, cfg)
    x = prep.transform_rows([rows[i] for i in te])
    assert bundle.test is not None and bundle.test.x is not None
    assert x.dtype == np.float32
    np.testing.assert_allclose(x, bundle.test.x.numpy(), atol=1e-6, rtol=0)
    assert np.array_equal(x, bundle.test.x.numpy())  # the same arithmetic: bit for bit


def test_csv_dialect_is_recorded(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "semi.csv", delimiter=";", decimal=",")
    prep = _round_trip(load_dataset(DataConfig(source="csv", path=str(path))))
    assert prep.to_json()["csv"] == {"delimiter": ";", "decimal": ","}


def _folder(root: Path, mode: str) -> Path:
    rng = np.random.default_rng(2)
    for k, name in enumerate(["circle", "square"]):
        (root / name).mkdir(parents=True)
        for i in range(9):
            size = (9 + i, 7 + 2 * i)
            pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
            pixels[..., k] = 255
            Image.fromarray(pixels).convert(mode).save(root / name / f"{i}.png")
    return root


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_image_folder_files_give_the_test_tensor(tmp_path: Path, mode: str) -> None:
    root = _folder(tmp_path / "shapes", mode)
    cfg = DataConfig(source="image_folder", path=str(root), image_size=12)
    bundle = load_dataset(cfg)
    prep = _round_trip(bundle)
    assert prep.channels == (3 if mode == "RGB" else 1) and prep.size == (12, 12) and prep.resize
    paths, labels, _ = find_images(root)
    te = _test_indices(labels, cfg)
    x = prep.transform_images([paths[i] for i in te])
    assert bundle.test is not None and bundle.test.x is not None
    np.testing.assert_allclose(x, bundle.test.x.numpy(), atol=1e-6, rtol=0)


def test_streamed_image_folder_keeps_its_statistics(tmp_path: Path) -> None:
    root = _folder(tmp_path / "shapes", "RGB")
    # 18 images of 3 x 160 x 160 floats are over 1 MB: streamed from disk
    cfg = DataConfig(source="image_folder", path=str(root), image_size=160, in_memory_limit_mb=1)
    bundle = load_dataset(cfg)
    assert bundle.test is not None and not bundle.test.in_memory
    prep = _round_trip(bundle)
    paths, labels, _ = find_images(root)
    x = prep.transform_images([paths[i] for i in _test_indices(labels, cfg)])
    streamed = torch.stack([bundle.test.dataset[i][0] for i in range(len(bundle.test))])  # type: ignore[index]
    np.testing.assert_allclose(x, streamed.numpy(), atol=1e-6, rtol=0)


def test_digits_pixels_give_the_test_tensor() -> None:
    cfg = DataConfig(source="digits")
    bundle = load_dataset(cfg)
    prep = _round_trip(bundle)
    assert prep.size == (8, 8) and prep.channels == 1 and not prep.resize and prep.raw_scale == 16.0
    pixels, labels = read_digits()
    x = prep.transform_pixels(pixels[_test_indices(labels, cfg)])
    assert bundle.test is not None and bundle.test.x is not None
    np.testing.assert_allclose(x, bundle.test.x.numpy(), atol=1e-6, rtol=0)


def test_digits_model_refuses_other_sizes_and_colour(tmp_path: Path) -> None:
    prep = _round_trip(load_dataset(DataConfig(source="digits")))
    Image.new("L", (8, 8), 200).save(tmp_path / "ok.png")
    assert prep.transform_images([tmp_path / "ok.png"]).shape == (1, 1, 8, 8)
    Image.new("L", (28, 28)).save(tmp_path / "big.png")
    with pytest.raises(DataError, match=r"big\.png: 28x28 pixels, but the model takes 8x8"):
        prep.transform_images([tmp_path / "big.png"])
    Image.new("RGB", (8, 8)).save(tmp_path / "colour.png")
    with pytest.raises(DataError, match=r"colour\.png: a colour image .*grayscale"):
        prep.transform_images([tmp_path / "colour.png"])
    (tmp_path / "notes.txt").write_text("not an image")
    with pytest.raises(DataError, match=r"notes\.txt: not an image"):
        prep.transform_images([tmp_path / "notes.txt"])


def test_rows_with_bad_cells_name_row_and_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "animals.csv")
    prep = _round_trip(load_dataset(DataConfig(source="csv", path=str(path))))
    good = {"height": "10", "colour": "red", "weight": "5"}
    assert prep.transform_rows([good]).shape == (1, 5)
    with pytest.raises(DataError, match=r"row 2, column 'colour': 'purple' was not seen in training"):
        prep.transform_rows([good, {**good, "colour": "purple"}])
    with pytest.raises(DataError, match=r"row 1, column 'height': 'tall' is not a finite number"):
        prep.transform_rows([{**good, "height": "tall"}])
    with pytest.raises(DataError, match=r"missing column\(s\) 'weight'"):
        prep.check_header(["height", "colour"], "new.csv")
    with pytest.raises(DataError, match=r"column\(s\) 'age' are not features"):
        prep.check_header(["height", "colour", "weight", "age"], "new.csv")
    prep.check_header(["species", "height", "colour", "weight"], "new.csv")  # the label may stay


def test_newer_format_is_refused() -> None:
    with pytest.raises(DataError, match="newer TuneLab"):
        Preprocessing.from_json({"format": 99, "kind": "table"})


def test_mnist_test_images_as_png_files_give_the_test_tensor(tmp_path: Path) -> None:
    arrays = write_idx(tmp_path / "MNIST" / "raw")
    bundle = load_dataset(DataConfig(source="mnist", path=str(tmp_path)))
    prep = _round_trip(bundle)
    assert prep.size == (28, 28) and prep.channels == 1 and not prep.resize
    files = []
    for i, img in enumerate(arrays["test_x"]):  # the official test set is the test split, in file order
        Image.fromarray(img).save(tmp_path / f"{i}.png")
        files.append(tmp_path / f"{i}.png")
    assert bundle.test is not None and bundle.test.x is not None
    np.testing.assert_allclose(prep.transform_images(files), bundle.test.x.numpy(), atol=1e-6, rtol=0)
    np.testing.assert_allclose(prep.transform_pixels(arrays["test_x"]), bundle.test.x.numpy(), atol=1e-6, rtol=0)


def test_an_image_folder_model_resizes_any_size_and_widens_gray_images(tmp_path: Path) -> None:
    prep = _round_trip(load_dataset(DataConfig(source="image_folder", path=str(_folder(tmp_path / "s", "RGB")))))
    assert prep.channels == 3 and prep.resize and prep.size == (32, 32)
    Image.new("L", (50, 20), 128).save(tmp_path / "gray.png")
    x = prep.transform_images([tmp_path / "gray.png"])
    assert x.shape == (1, 3, 32, 32)
    # the same gray plane in every channel, each standardised with its own channel's statistics
    unscaled = x[0] * np.asarray(prep.std, dtype=np.float32)[:, None, None] + np.asarray(prep.mean)[:, None, None]
    np.testing.assert_allclose(unscaled, np.full((3, 32, 32), 128 / 255), atol=1e-5)
