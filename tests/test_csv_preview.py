"""The window's view of a CSV file before training: delimiter, decimal mark, header, first rows and column types,
read without torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trainers.spec.csv_preview import CsvPreview, csv_preview
from trainers.spec.errors import DataError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_semicolon_file_with_decimal_commas(tmp_path: Path) -> None:
    lines = ["x1;x2;colour;gap;label"] + [f"{i},5;{i};red;;{'ab'[i % 2]}" for i in range(12)]
    preview = csv_preview(write(tmp_path / "s.csv", "\n".join(lines) + "\n"))
    assert isinstance(preview, CsvPreview)
    assert preview.delimiter == ";" and preview.decimal == ","
    assert preview.header == ("x1", "x2", "colour", "gap", "label")
    assert len(preview.rows) == 5 and preview.rows[1] == ("1,5", "1", "red", "", "b")
    assert preview.kinds == ("numeric", "numeric", "categorical", "empty", "categorical")
    assert preview.notes == ()


def test_comma_and_tab_files_and_row_count(tmp_path: Path) -> None:
    comma = csv_preview(write(tmp_path / "c.csv", "a,b,label\n1.5,x,0\n2,y,1\n3,x,0\n"), rows=2)
    assert comma.delimiter == "," and comma.decimal == "."
    assert comma.rows == (("1.5", "x", "0"), ("2", "y", "1"))
    assert comma.kinds == ("numeric", "categorical", "numeric")
    tab = csv_preview(write(tmp_path / "t.tsv", "a\tb\n1\tx\n2\ty\n"))
    assert tab.delimiter == "\t" and tab.header == ("a", "b") and len(tab.rows) == 2


def test_a_comma_file_never_reads_decimal_commas(tmp_path: Path) -> None:
    preview = csv_preview(write(tmp_path / "q.csv", 'a,b\n"1,5",x\n"2,5",y\n'))
    assert preview.delimiter == "," and preview.decimal == "."
    assert preview.kinds == ("categorical", "categorical")


def test_excel_trailing_comma(tmp_path: Path) -> None:
    empty = csv_preview(write(tmp_path / "e.csv", "a,b,\n1,x,\n2,y,\n"))
    assert empty.header == ("a", "b") and empty.rows[0] == ("1", "x") and empty.notes == ()
    filled = csv_preview(write(tmp_path / "f.csv", "a,b,\n1,x,\n2,y,9\n"))
    assert filled.header == ("a", "b", "") and filled.kinds[-1] == "numeric"
    assert len(filled.notes) == 1 and "no name" in filled.notes[0]


def test_unreadable_files_are_data_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no header"):
        csv_preview(write(tmp_path / "empty.csv", ""))
    with pytest.raises(DataError, match="cannot be read"):
        csv_preview(tmp_path / "missing.csv")
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00a,b\n")
    with pytest.raises(DataError, match="UTF-8"):
        csv_preview(tmp_path / "bin.csv")


NAMES = st.text("abcdefghij_", min_size=1, max_size=6)
CELLS = st.one_of(
    st.text("abcxyz -", min_size=1, max_size=5).map(str.strip).filter(bool),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: f"{v:.3f}"),
)


@settings(max_examples=60, deadline=None)
@given(delimiter=st.sampled_from([",", ";", "\t"]), width=st.integers(2, 5), data=st.data())
def test_the_delimiter_of_random_tables_is_found(delimiter: str, width: int, data: st.DataObject) -> None:
    header = data.draw(st.lists(NAMES, min_size=width, max_size=width, unique=True))
    body = data.draw(st.lists(st.lists(CELLS, min_size=width, max_size=width), min_size=1, max_size=8))
    if delimiter != ",":
        body = [[c.replace(".", ",") for c in row] for row in body]  # the decimal comma of such locales
    text = "\n".join(delimiter.join(row) for row in [header, *body]) + "\n"
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        preview = csv_preview(write(Path(tmp) / "r.csv", text))
    assert preview.delimiter == delimiter and preview.header == tuple(header)
    assert preview.rows == tuple(tuple(r) for r in body[:5])


@pytest.mark.slow
def test_the_preview_imports_no_torch_or_numpy(tmp_path: Path) -> None:
    path = write(tmp_path / "p.csv", "a;b\n1,5;x\n")
    code = (
        "import sys; from trainers.spec.csv_preview import csv_preview; "
        f"p = csv_preview({str(path)!r}); assert p.decimal == ','; "
        "print(sorted(m for m in ('torch', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
