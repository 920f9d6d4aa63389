"""Rank-by, the four filter choices (status, kind, dataset, model) and a free-text search, as one row.

It only edits QueryParts; the store does the filtering. Typing is debounced so a word costs one query. Ranks mean
most within one dataset, so the dataset choice follows the dataset of the most recent trial until the user picks
one ("All datasets" included).
"""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QWidget

from app.history.columns import KIND_WORDS, METRIC_NAMES
from app.history.trial_source import QueryParts

TEXT_DEBOUNCE_MS = 250
FILTER_COLUMNS = ("status", "kind", "dataset", "model")
# The store column each filter's choices are read from: the dataset choices are the labels ("csv: iris.csv").
CHOICE_COLUMNS = {"status": "status", "kind": "kind", "dataset": "dataset_label", "model": "model"}
ALL = "all"
ALL_DATASETS = "All datasets"
DATASET = "dataset"


def _item_text(column: str, value: str | None) -> str:
    if column == DATASET:
        return ALL_DATASETS if value is None else value
    shown = KIND_WORDS.get(value, value) if column == "kind" and value is not None else value
    return f"{column}: {ALL if shown is None else shown}"


class FilterBar(QWidget):
    changed = Signal()  # rank-by, a filter or the (settled) text changed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rank_by = QComboBox()
        for key, name in METRIC_NAMES.items():
            self.rank_by.addItem(name, key)
        self.rank_by.setToolTip("What the Rank column ranks by (best first)")
        self.combos: dict[str, QComboBox] = {}
        self.dataset_picked = False  # the user chose a dataset: it no longer follows the most recent trial
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        label = QLabel("Ran&k by")
        label.setBuddy(self.rank_by)
        layout.addWidget(label)
        layout.addWidget(self.rank_by)
        for column in FILTER_COLUMNS:
            combo = QComboBox()
            combo.setToolTip(f"Show only trials with this {column}")
            combo.setMinimumContentsLength(8)
            combo.addItem(_item_text(column, None), None)
            combo.currentIndexChanged.connect(lambda _i: self.changed.emit())
            if column == DATASET:
                combo.setToolTip("Rank within this dataset (it follows the most recent trial until you pick one)")
                combo.activated.connect(self._dataset_picked)
            self.combos[column] = combo
            layout.addWidget(combo)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search notes, names, messages… or #12, model=cnn")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Free text over the trials' words; column=value words filter a column")
        layout.addWidget(self.search, 1)
        self._text_timer = QTimer(self)
        self._text_timer.setSingleShot(True)
        self._text_timer.setInterval(TEXT_DEBOUNCE_MS)
        self._text_timer.timeout.connect(self.changed)
        self.search.textChanged.connect(lambda _t: self._text_timer.start())
        self.search.returnPressed.connect(self.settle_text)
        self.rank_by.currentIndexChanged.connect(lambda _i: self.changed.emit())

    def settle_text(self) -> None:
        """Apply the search text now rather than after the pause (Return does this)."""
        if self._text_timer.isActive():
            self._text_timer.stop()
            self.changed.emit()

    def apply_to(self, parts: QueryParts) -> QueryParts:
        """`parts` with this bar's metric, filters and text (the sort is the header's)."""
        filters = tuple(
            (column, combo.currentData()) for column, combo in self.combos.items() if combo.currentData() is not None
        )
        return parts.replace(metric=self.rank_by.currentData(), filters=filters, text=self.search.text().strip())

    def _dataset_picked(self, _index: int) -> None:
        self.dataset_picked = True

    def set_choices(self, values: dict[str, list[str]], latest_dataset: str | None = None) -> None:
        """Refill each filter's values (from the store), keeping the current choice when it still exists; the
        dataset choice moves to `latest_dataset` (the most recent trial's) unless the user picked one."""
        before = self.combos[DATASET].currentData()
        for column, combo in self.combos.items():
            current = combo.currentData()
            if column == DATASET and not self.dataset_picked and latest_dataset:
                current = latest_dataset
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(_item_text(column, None), None)
            for value in values.get(column, []):
                combo.addItem(_item_text(column, value), value)
            index = combo.findData(current) if current is not None else 0
            if index < 0:  # the chosen value is gone: keep it, the filter still says what is shown
                combo.addItem(_item_text(column, current), current)
                index = combo.count() - 1
            combo.setCurrentIndex(index)
            combo.blockSignals(False)
        if self.combos[DATASET].currentData() != before:
            self.changed.emit()

    def choose(self, column: str, value: str | None) -> None:
        """Pick a filter value as the user would (tests, and "show only this" actions)."""
        combo = self.combos[column]
        index = combo.findData(value) if value is not None else 0
        if index < 0:
            combo.addItem(_item_text(column, value), value)
            index = combo.count() - 1
        if column == DATASET:
            self.dataset_picked = True
        combo.setCurrentIndex(index)
