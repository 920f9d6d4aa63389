"""A CSV file in the run-config form: the target column is picked from the file's header, and the first rows
show under the path with each column's detected type and the loader's notes."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QComboBox

from app.forms import ConfigForm


@pytest.fixture
def form(qtbot) -> ConfigForm:
    f = ConfigForm()
    qtbot.addWidget(f)
    f.show()
    return f


def choose_csv(qtbot, form: ConfigForm, path: Path) -> None:
    form.set_values({"data.source": "csv", "data.path": str(path)})
    qtbot.waitUntil(lambda: form.csv_table.isVisible(), timeout=2000)


def test_the_target_column_is_picked_from_the_header(qtbot, form: ConfigForm, tmp_path: Path) -> None:
    table = tmp_path / "iris.csv"
    table.write_text("sepal;petal;species\n1,5;0,2;setosa\n4,7;1,4;versicolor\n")
    choose_csv(qtbot, form, table)
    picker = form.editor("data.target_column").focus_widget()
    assert isinstance(picker, QComboBox)  # not a free-text box
    assert [picker.itemData(i) for i in range(picker.count())] == ["", "sepal", "petal", "species"]
    picker.setCurrentIndex(picker.findData("species"))
    cfg = form.config()
    assert cfg is not None and cfg.data.target_column == "species"
    assert form.csv_table.column_kinds() == ["sepal\nnumeric", "petal\nnumeric", "species\ncategorical"]
    assert form.csv_table.table.rowCount() == 2 and form.csv_table.table.item(1, 2).text() == "versicolor"
    summary = form.csv_table.summary.text()
    assert "semicolon" in summary and "decimal comma" in summary


def test_a_saved_target_column_stays_chosen_when_the_header_arrives(qtbot, form: ConfigForm, tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    table.write_text("a,b,label\n1,2,x\n")
    form.set_values({"data.source": "csv", "data.path": str(table), "data.target_column": "b"})
    qtbot.waitUntil(lambda: form.csv_table.isVisible(), timeout=2000)
    assert form.config().data.target_column == "b"
    assert form.editor("data.target_column").focus_widget().currentText() == "b"


def test_the_loaders_notes_and_unreadable_files_show_in_the_form(qtbot, form: ConfigForm, tmp_path: Path) -> None:
    excel = tmp_path / "excel.csv"
    excel.write_text("a,b,label,\n1,2,x,7\n3,4,y,\n")
    choose_csv(qtbot, form, excel)
    assert form.csv_table.notes.isVisible() and form.csv_table.notes.text()
    missing = tmp_path / "nope.csv"
    form.set_field("data.path", str(missing))
    qtbot.waitUntil(lambda: "cannot be read" in form.csv_table.summary.text(), timeout=2000)
    assert not form.csv_table.table.isVisible()
    form.set_field("data.source", "digits")
    qtbot.waitUntil(lambda: not form.csv_table.isVisible(), timeout=2000)
