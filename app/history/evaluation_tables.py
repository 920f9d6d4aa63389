"""The Evaluation view's tables: per-class precision, recall, F1 and support with the averages, and the most
confident mistakes with their input (a thumbnail of the image, or the CSV row as written)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

THUMB = 56  # pixels


def _cell(text: str, number: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    if number:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


def _read_only(table: QTableWidget) -> None:
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    table.setAlternatingRowColors(True)


class ClassTable(QTableWidget):
    HEADERS = ("class", "precision", "recall", "F1", "support")

    def __init__(self) -> None:
        super().__init__(0, len(self.HEADERS))
        self.setHorizontalHeaderLabels(self.HEADERS)
        _read_only(self)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)

    def show_evaluation(self, ev: Any) -> None:
        pc = ev.per_class
        rows = [
            (name, pc.precision[i], pc.recall[i], pc.f1[i], int(pc.support[i])) for i, name in enumerate(ev.class_names)
        ]
        rows.append(("macro average", ev.macro.precision, ev.macro.recall, ev.macro.f1, ev.samples))
        rows.append(("weighted average", ev.weighted.precision, ev.weighted.recall, ev.weighted.f1, ev.samples))
        self.setRowCount(len(rows))
        for r, (name, p, rec, f1, support) in enumerate(rows):
            self.setItem(r, 0, _cell(str(name)))
            for c, value in enumerate((p, rec, f1), start=1):
                self.setItem(r, c, _cell(f"{value:.3f}", number=True))
            self.setItem(r, 4, _cell(str(support), number=True))


def thumbnail(image: np.ndarray) -> QPixmap:
    """A uint8 (H, W, C) picture (C 1 or 3) as a pixmap THUMB pixels high, its pixels kept sharp."""
    h, w, c = image.shape
    data = np.ascontiguousarray(image if c in (1, 3) else image[:, :, :1])
    fmt = QImage.Format.Format_RGB888 if data.shape[2] == 3 else QImage.Format.Format_Grayscale8
    qimage = QImage(data.tobytes(), w, h, w * data.shape[2], fmt).copy()  # copy: the bytes object is temporary
    return QPixmap.fromImage(qimage).scaled(
        THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation
    )


class MistakesTable(QTableWidget):
    HEADERS = ("input", "true", "predicted", "confidence")

    def __init__(self) -> None:
        super().__init__(0, len(self.HEADERS))
        self.setHorizontalHeaderLabels(self.HEADERS)
        _read_only(self)
        self.setIconSize(QSize(THUMB, THUMB))
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)

    def show_evaluation(self, ev: Any, images: Sequence[np.ndarray]) -> None:
        self.setRowCount(len(ev.mistakes))
        for r, m in enumerate(ev.mistakes):
            if r < len(images):
                item = _cell(f"#{m.index}")
                item.setData(Qt.ItemDataRole.DecorationRole, thumbnail(images[r]))
                self.setRowHeight(r, THUMB + 4)
            elif m.row:
                line = f"line {m.line}: " if m.line is not None else ""
                item = _cell(line + ", ".join(f"{c}={v}" for c, v in zip(ev.columns, m.row)))
            else:
                item = _cell(f"sample {m.index}")
            self.setItem(r, 0, item)
            self.setItem(r, 1, _cell(m.true))
            self.setItem(r, 2, _cell(m.predicted))
            self.setItem(r, 3, _cell(f"{m.confidence:.3f}", number=True))
