"""The first rows of a CSV file as the loader will read them, under the file's field: each column's name and
detected type, how the file is written (delimiter, decimal mark) and what the loader will object to or change.

The numbers come from trainers.spec.csv_preview (plain csv module, so it runs before the engine has loaded).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.forms.field_editor import ERROR_COLOR, small_font
from trainers.spec.csv_preview import CsvPreview

DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar", " ": "space"}
DECIMAL_NAMES = {".": "point", ",": "comma"}
ROW_HEIGHT = 20


class _PreviewTable(QTableWidget):
    """Scrolls sideways by its own bar; the mouse wheel scrolls the form it sits in."""

    def wheelEvent(self, event: QWheelEvent) -> None:
        event.ignore()


class CsvTable(QWidget):
    """Hidden until a CSV file is chosen; then the file's shape, its first rows and any notes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setFont(small_font(self.summary))
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.notes.setFont(small_font(self.notes))
        self.table = _PreviewTable()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # a picture of the file, not a Tab stop
        self.table.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        self.table.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.table.setMinimumWidth(160)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        for widget in (self.summary, self.table, self.notes):
            layout.addWidget(widget)
        self.hide()

    def show_preview(self, preview: CsvPreview) -> None:
        columns = len(preview.header)
        self.summary.setText(
            f"{columns} columns, {DELIMITER_NAMES.get(preview.delimiter, repr(preview.delimiter))}-separated, "
            f"decimal {DECIMAL_NAMES.get(preview.decimal, repr(preview.decimal))}. The first rows:"
        )
        self.summary.setStyleSheet("")
        table = self.table
        table.clear()
        table.setColumnCount(columns)
        table.setRowCount(len(preview.rows))
        table.setHorizontalHeaderLabels([f"{name}\n{kind}" for name, kind in zip(preview.header, preview.kinds)])
        for r, row in enumerate(preview.rows):
            for c, cell in enumerate(row):
                table.setItem(r, c, QTableWidgetItem(cell))
        table.resizeColumnsToContents()
        header_height = table.horizontalHeader().sizeHint().height()
        table.setFixedHeight(
            header_height + ROW_HEIGHT * len(preview.rows) + table.horizontalScrollBar().sizeHint().height() + 4
        )
        table.show()
        self.notes.setText("\n".join(preview.notes))
        self.notes.setVisible(bool(preview.notes))
        self.show()

    def show_problem(self, line: str) -> None:
        """The file cannot be previewed: say why, in the form, before anyone presses Train."""
        self.summary.setText(line)
        self.summary.setStyleSheet(f"color: {ERROR_COLOR};")
        self.table.hide()
        self.notes.hide()
        self.show()

    def column_kinds(self) -> list[str]:
        """The headers on show, as "name\\nkind" (for tests and accessibility)."""
        return [self.table.horizontalHeaderItem(c).text() for c in range(self.table.columnCount())]
