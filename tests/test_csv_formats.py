"""CSV files as spreadsheets write them: semicolon or tab delimiters, decimal commas, a trailing delimiter, and
values too large to train on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from trainers.data import DatasetBundle, load_dataset
from trainers.data.common import split_indices
from trainers.spec.config import DataConfig
from trainers.spec.errors import DataError

HEADER = ["x1", "x2", "colour", "label"]


def body(n: int = 60) -> list[list[str]]:
    """Rows whose first two columns are plain decimals (with a fraction) and whose label follows x1."""
    return [
        [f"{i % 3 + 0.25 * (i % 4):.2f}", f"{(i * 7) % 11 / 4:.2f}", ["red", "blue"][i % 2], "abc"[i % 3]]
        for i in range(n)
    ]


def write(path: Path, lines: list[list[str]], delimiter: str = ",", end: str = "") -> Path:
    path.write_text("".join(delimiter.join(r) + end + "\n" for r in lines), encoding="utf-8")
    return path


def load(path: Path, **kw: object) -> DatasetBundle:
    return load_dataset(DataConfig(source="csv", path=str(path), **kw))  # type: ignore[arg-type]


def all_x(bundle: DatasetBundle) -> torch.Tensor:
    parts = [bundle.train, bundle.val] + ([bundle.test] if bundle.test is not None else [])
    return torch.cat([p.x for p in parts])


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_semicolon_and_tab_files_read_like_comma_files(tmp_path: Path, delimiter: str) -> None:
    reference = load(write(tmp_path / "c.csv", [HEADER] + body()), target_column="label")
    other = load(write(tmp_path / "s.csv", [HEADER] + body(), delimiter), target_column="label")
    assert other.feature_names == reference.feature_names == ["x1", "x2", "colour=blue", "colour=red"]
    assert other.class_names == ["a", "b", "c"]
    assert torch.equal(all_x(other), all_x(reference))


def test_decimal_comma_in_a_semicolon_file(tmp_path: Path) -> None:
    rows = body()
    reference = load(write(tmp_path / "dot.csv", [HEADER] + rows), normalize=False)
    comma = [[r[0].replace(".", ","), r[1].replace(".", ","), r[2], r[3]] for r in rows]
    bundle = load(write(tmp_path / "comma.csv", [HEADER] + comma, ";"), normalize=False)
    assert bundle.feature_names == ["x1", "x2", "colour=blue", "colour=red"]
    assert torch.equal(all_x(bundle), all_x(reference))
    assert 1.5 in all_x(bundle)[:, 0].tolist()  # "1,50" is one and a half, not text


def test_excel_trailing_comma_drops_an_empty_unnamed_column(tmp_path: Path) -> None:
    reference = load(write(tmp_path / "plain.csv", [HEADER] + body()))
    trailing = load(write(tmp_path / "excel.csv", [HEADER] + body(), end=","))
    assert trailing.feature_names == reference.feature_names
    assert trailing.class_names == ["a", "b", "c"]
    # a trailing delimiter on the data rows only is the same empty column
    rows_only = tmp_path / "rows.csv"
    rows_only.write_text(",".join(HEADER) + "\n" + "".join(",".join(r) + ",\n" for r in body()))
    assert load(rows_only).feature_names == reference.feature_names


def test_an_unnamed_last_column_with_values_is_explained(tmp_path: Path) -> None:
    rows = [r + [""] for r in body()]
    rows[4][-1] = "7"  # data row 5 = file line 6
    with pytest.raises(DataError) as info:
        load(write(tmp_path / "named.csv", [HEADER + [""]] + rows))
    msg = str(info.value)
    assert "named.csv" in msg and "no name" in msg and "line 6" in msg and "'7'" in msg


@pytest.mark.parametrize("huge", ["1e308", "-1e308", "1e39", "3.5e38"])
def test_values_too_large_to_train_on_name_the_column_and_row(tmp_path: Path, huge: str) -> None:
    rows = body()
    rows[9][1] = huge  # data row 10 = file line 11
    with pytest.raises(DataError) as info:
        load(write(tmp_path / "big.csv", [HEADER] + rows))
    msg = str(info.value)
    assert "big.csv" in msg and "'x2'" in msg and "line 11" in msg and "too large" in msg


def test_a_value_that_overflows_only_after_standardising_is_named(tmp_path: Path) -> None:
    rows = body()
    for i, r in enumerate(rows):
        r[1] = f"{(i % 2) * 1e-7:.1e}"  # a training std of about 5e-8
    cfg = DataConfig()
    _, val, _ = split_indices(
        np.array([r[3] for r in rows]),
        val_split=cfg.val_split,
        test_split=cfg.test_split,
        seed=cfg.split_seed,
        train_fraction=1.0,
        where="t",
    )
    rows[int(val[0])][1] = "1e32"  # fits a float32, but 1e32 / 5e-8 does not
    with pytest.raises(DataError) as info:
        load(write(tmp_path / "steep.csv", [HEADER] + rows))
    msg = str(info.value)
    assert "'x2'" in msg and f"line {int(val[0]) + 2}" in msg and "'1e32'" in msg and "standardis" in msg
    assert len(load(write(tmp_path / "flat.csv", [HEADER] + rows), normalize=False).train) > 0


def test_large_but_trainable_values_still_load(tmp_path: Path) -> None:
    rows = body()
    for i, r in enumerate(rows):
        r[1] = f"{(i % 5) * 1e30:.3e}"
    bundle = load(write(tmp_path / "wide.csv", [HEADER] + rows))
    x = all_x(bundle)
    assert bool(torch.isfinite(x).all()) and float(x[:, 1].abs().max()) < 10
    # standardised, not flattened to zeros by a float32 variance that overflowed
    assert abs(float(bundle.train.x[:, 1].double().std()) - 1.0) < 1e-3


def test_an_explicit_inf_is_still_a_missing_number(tmp_path: Path) -> None:
    rows = body()
    rows[2][0] = "inf"
    with pytest.raises(DataError, match=r"'x1', line 4: 'inf' is not a finite number"):
        load(write(tmp_path / "inf.csv", [HEADER] + rows, ";"))
