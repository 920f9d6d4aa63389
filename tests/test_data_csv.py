"""CSV tables: column typing, one-hot encoding and standardisation from the training split, and errors."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trainers.data import DatasetBundle, load_dataset
from trainers.data.bundle import as_int_labels
from trainers.data.splits import stratified_split
from trainers.spec.config import DataConfig
from trainers.spec.errors import DataError

HEADER = ["height", "colour", "weight", "species"]


def rows(n: int = 60) -> list[list[str]]:
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        k = i % 3
        out.append(
            [
                f"{10 + 5 * k + rng.normal():.3f}",
                ["red", "green", "blue", "grey"][i % 4],
                f"{100 * k + rng.normal() * 10:.2f}",
                ["cat", "dog", "eel"][k],
            ]
        )
    return out


def write(path: Path, header: list[str], body: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(body)
    return path


def load(path: Path, **kw: object) -> DatasetBundle:
    return load_dataset(DataConfig(source="csv", path=str(path), **kw))  # type: ignore[arg-type]


def test_numeric_and_categorical_columns(tmp_path: Path) -> None:
    bundle = load(write(tmp_path / "animals.csv", HEADER, rows()))
    assert bundle.name == "animals.csv"
    assert bundle.class_names == ["cat", "dog", "eel"] and bundle.num_classes == 3
    assert bundle.feature_names == ["height", "colour=blue", "colour=green", "colour=grey", "colour=red", "weight"]
    assert bundle.input_shape == (6,)
    assert bundle.train.x.dtype == torch.float32
    assert len(bundle.train) + len(bundle.val) + len(bundle.test or []) == 60
    onehot = bundle.train.x[:, 1:5]
    assert torch.equal(onehot.sum(dim=1), torch.ones(len(bundle.train)))
    assert set(torch.unique(onehot).tolist()) == {0.0, 1.0}


def test_target_by_name_and_default_last(tmp_path: Path) -> None:
    header = ["species", "height", "colour", "weight"]
    body = [[r[3], r[0], r[1], r[2]] for r in rows()]
    path = write(tmp_path / "t.csv", header, body)
    by_name = load(path, target_column="species")
    assert by_name.class_names == ["cat", "dog", "eel"]
    assert by_name.feature_names[0] == "height" and by_name.input_shape == (6,)
    # the default target is the last column: here "colour" (4 classes), with "species" one-hot encoded
    moved = write(
        tmp_path / "u.csv", ["species", "height", "weight", "colour"], [[r[3], r[0], r[2], r[1]] for r in rows()]
    )
    default = load(moved)
    assert default.class_names == ["blue", "green", "grey", "red"]
    assert default.feature_names == ["species=cat", "species=dog", "species=eel", "height", "weight"]


def test_a_continuous_target_is_explained(tmp_path: Path) -> None:
    path = write(
        tmp_path / "w.csv", ["species", "height", "colour", "weight"], [[r[3], r[0], r[1], r[2]] for r in rows()]
    )
    with pytest.raises(DataError, match=r"w\.csv.*'weight' has 60 distinct values in 60 rows.*target_column"):
        load(path)


def test_numeric_labels_sort_numerically(tmp_path: Path) -> None:
    body = [[str(i), ["10", "2", "1"][i % 3]] for i in range(30)]
    bundle = load(write(tmp_path / "n.csv", ["x", "y"], body))
    assert bundle.class_names == ["1", "2", "10"]


def test_standardised_with_training_statistics_only(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", HEADER, rows())
    bundle = load(path)
    numeric = bundle.train.x[:, [0, 5]]
    assert torch.allclose(numeric.mean(dim=0), torch.zeros(2), atol=1e-5)
    assert torch.allclose(numeric.std(dim=0), torch.ones(2), atol=1e-4)
    # change a validation row: the training tensors must not move, the unseen category is all zeros
    labels, _ = as_int_labels([r[3] for r in rows()])
    _, val_idx, _ = stratified_split(labels, 0.15, 0.15, 0)
    body = rows()
    body[val_idx[0]][0] = "100000"
    body[val_idx[0]][1] = "purple"
    changed = load(write(tmp_path / "b.csv", HEADER, body))
    assert torch.equal(changed.train.x, bundle.train.x)
    assert changed.feature_names == bundle.feature_names
    assert not torch.equal(changed.val.x, bundle.val.x)
    purple = changed.val.x[:, 0] > 1000
    assert int(purple.sum()) == 1 and float(changed.val.x[purple][0, 1:5].abs().sum()) == 0.0


def test_missing_target_column_lists_the_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "m.csv", HEADER, rows())
    with pytest.raises(DataError) as info:
        load(path, target_column="label")
    msg = str(info.value)
    assert "m.csv" in msg and "'label'" in msg and "height, colour, weight, species" in msg


@pytest.mark.parametrize("cell", ["", "nan", "NaN", "inf", "-inf"])
def test_missing_number_names_file_column_and_line(tmp_path: Path, cell: str) -> None:
    body = rows()
    body[6][2] = cell  # data row 7 = file line 8
    with pytest.raises(DataError) as info:
        load(write(tmp_path / "gap.csv", HEADER, body))
    msg = str(info.value)
    assert "gap.csv" in msg and "'weight'" in msg and "line 8" in msg


def test_text_in_numeric_column(tmp_path: Path) -> None:
    body = rows()
    body[3][0] = "tall"  # data row 4 = file line 5
    with pytest.raises(DataError) as info:
        load(write(tmp_path / "typo.csv", HEADER, body))
    msg = str(info.value)
    assert "typo.csv" in msg and "'height'" in msg and "line 5" in msg and "'tall'" in msg


def test_number_in_text_column_is_reported_as_the_odd_one(tmp_path: Path) -> None:
    body = rows()
    body[9][1] = "42"
    with pytest.raises(DataError, match=r"'colour'.*line 11 has '42'"):
        load(write(tmp_path / "odd.csv", HEADER, body))


def test_single_class(tmp_path: Path) -> None:
    body = [r[:3] + ["cat"] for r in rows()]
    with pytest.raises(DataError, match=r"one\.csv.*at least 2 classes"):
        load(write(tmp_path / "one.csv", HEADER, body))


def test_ragged_row(tmp_path: Path) -> None:
    path = write(tmp_path / "ragged.csv", HEADER, rows())
    lines = path.read_text().splitlines()
    lines[12] += ",extra"  # file line 13
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"ragged\.csv, line 13: 5 fields, but the header has 4"):
        load(path)


def test_too_few_rows_for_a_validation_split(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="validation split"):
        load(write(tmp_path / "tiny.csv", ["x", "y"], [["1", "a"], ["2", "b"], ["3", "a"]]))


def test_header_only_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no data rows"):
        load(write(tmp_path / "h.csv", HEADER, []))
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(DataError, match="no header"):
        load(tmp_path / "e.csv")


def test_blank_lines_skipped_and_line_numbers_kept(tmp_path: Path) -> None:
    path = write(tmp_path / "blank.csv", HEADER, rows())
    lines = path.read_text().splitlines()
    lines.insert(3, "")  # the old file line 4 becomes line 5
    lines[20] = lines[20].replace(lines[20].split(",")[0], "oops", 1)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match="line 21"):
        load(path)
    lines[20] = "1.0" + lines[20][4:]
    path.write_text("\n".join(lines) + "\n")
    assert len(load(path, test_split=0.0).train) > 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), n_cols=st.integers(1, 4), per_class=st.lists(st.integers(4, 12), min_size=2, max_size=4))
def test_random_float_tables_round_trip(tmp_path: Path, data: st.DataObject, n_cols: int, per_class: list[int]) -> None:
    n = sum(per_class)
    values = data.draw(
        st.lists(
            st.lists(st.floats(-1e6, 1e6, allow_nan=False, width=32), min_size=n_cols, max_size=n_cols),
            min_size=n,
            max_size=n,
        )
    )
    labels = [f"c{k}" for k, m in enumerate(per_class) for _ in range(m)]
    header = [f"f{j}" for j in range(n_cols)] + ["label"]
    body = [[repr(v) for v in row] + [lab] for row, lab in zip(values, labels)]
    path = write(tmp_path / "rand.csv", header, body)
    bundle = load(path, normalize=False)
    assert bundle.input_shape == (n_cols,) and bundle.feature_names == header[:-1]
    assert bundle.num_classes == len(per_class)
    parts = [bundle.train, bundle.val] + ([bundle.test] if bundle.test is not None else [])
    x = torch.cat([p.x for p in parts]).numpy()
    y = torch.cat([p.y for p in parts]).numpy()
    assert x.shape == (n, n_cols)
    got = sorted((tuple(r), int(c)) for r, c in zip(x.tolist(), y.tolist()))
    want = sorted((tuple(np.float32(v).item() for v in row), int(lab[1:])) for row, lab in zip(values, labels))
    assert got == want
