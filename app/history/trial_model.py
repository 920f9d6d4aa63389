"""The History table's model: ranked trials read from the store a page at a time, when the view asks.

rowCount comes from one COUNT query; a row's data is fetched with its page (PAGE_SIZE trials) the first time
the view paints it, and only a few pages are kept. Sorting and filtering make a new store query (the database
sorts), never a proxy over every row, so 10,000 trials open as fast as 100.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QColor

from app.history.columns import COLUMN_INDEX, COLUMNS
from app.history.trial_source import QueryParts, TableLoad, TrialSource, read_load
from app.store_reader import StoreReader
from app.worker import one_line
from trainers.spec.dataset_label import SEPARATOR

PAGE_SIZE = 100
MAX_PAGES = 6  # pages kept; a page read again costs one short query
DIAGNOSE_CHUNK = 8  # old trials diagnosed per event-loop turn, so painting never waits for many
TRIAL_ROLE = Qt.ItemDataRole.UserRole  # the row's RankedTrial
ID_ROLE = Qt.ItemDataRole.UserRole + 1  # the row's trial id
_STATUS_COLOURS = {
    "running": "#1565c0",
    "diverged": "#b00020",
    "failed": "#b00020",
    "interrupted": "#8a5a00",
    "stopped": "#8a5a00",
    "pruned": "#8a5a00",
    "queued": "#6a1b9a",  # waiting for a worker (Run on workers)
}
_INDEX = QModelIndex | QPersistentModelIndex


class TrialTableModel(QAbstractTableModel):
    loaded = Signal()  # after every (re)load: count known, pages dropped
    failed = Signal(str)  # a store read failed; the message is for the user

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._source: TrialSource | None = None
        self._parts = QueryParts()
        self._query: Any = None
        self._count = 0
        self._pages: OrderedDict[int, list[Any]] = OrderedDict()
        self._to_diagnose: list[int] = []
        self._reader: StoreReader | None = None  # when set, reads run on its thread (see set_reader)
        self._generation = 0  # one per load: answers of an older load are dropped
        self._requested: set[int] = set()  # pages asked of the reader, not yet here
        self.prefetch: set[int] = set()  # pages the next load reads with the count (the selection's)
        self.loading = False  # a load is outstanding; rows show what the last one read
        self._robust: dict[str, Any] | None = None  # the query's robust table, read once per load
        self._robust_timer = QTimer(self)
        self._robust_timer.setSingleShot(True)
        self._robust_timer.setInterval(0)
        self._robust_timer.timeout.connect(self._fill_robust)
        self._diagnose_timer = QTimer(self)
        self._diagnose_timer.setSingleShot(True)
        self._diagnose_timer.setInterval(0)
        self._diagnose_timer.timeout.connect(self._diagnose_some)

    # ---- the query ----------------------------------------------------------------------------
    @property
    def parts(self) -> QueryParts:
        return self._parts

    @property
    def source(self) -> TrialSource | None:
        return self._source

    def set_source(self, source: TrialSource | None) -> None:
        self._source = source
        self.reload()

    def set_reader(self, reader: StoreReader | None) -> None:
        """Read through `reader` (off the GUI thread): loads answer later with `loaded`, unread rows show "…"
        until their page arrives. Without one every read happens when asked."""
        self._reader = reader

    def set_parts(self, parts: QueryParts) -> None:
        """Show trials as `parts` says (metric, sort, filters, text); unchanged parts cost nothing."""
        if parts != self._parts:
            self._parts = parts
            self.reload()

    def reload(self) -> None:
        """Count again and drop every cached page: the view asks for what it shows next."""
        self._generation += 1
        self._requested.clear()
        wanted, self.prefetch = self.prefetch, set()
        if self._reader is not None and self._source is not None:
            self.loading = True
            source, parts, generation = self._source, self._parts, self._generation
            self._reader.submit(
                "table",
                lambda: read_load(source, parts, wanted | {0}, PAGE_SIZE),
                lambda load: self._apply_load(load, generation),
                lambda text: self._load_failed(f"Cannot list the trials: {text}"),
            )
            return
        self.loading = False
        self.beginResetModel()
        self._pages.clear()
        self._to_diagnose.clear()
        self._robust = None
        self._count = 0
        if self._source is not None:
            try:
                self._query = self._source.query(self._parts)
                self._count = self._source.count(self._query)
            except Exception as exc:
                self.failed.emit(f"Cannot list the trials: {one_line(exc)}")
        self.endResetModel()
        self.loaded.emit()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """A header click: the store sorts by that column (rank ascending = best first)."""
        if 0 <= column < len(COLUMNS):
            self.set_parts(
                self._parts.replace(sort=COLUMNS[column].sort, descending=order == Qt.SortOrder.DescendingOrder)
            )

    def _apply_load(self, load: TableLoad, generation: int) -> None:
        if generation != self._generation:
            return
        self.beginResetModel()
        self._pages.clear()
        self._to_diagnose.clear()
        self._query, self._count, self._robust = load.query, load.count, load.robust
        for number, page in sorted(load.pages.items()):
            self._keep_page(number, page)
        self.loading = False
        self.endResetModel()
        if self._robust is None and self._count:
            self._robust_timer.start()
        self.loaded.emit()

    def _load_failed(self, text: str) -> None:
        self.loading = False
        self.failed.emit(text)
        self.loaded.emit()

    # ---- rows ---------------------------------------------------------------------------------
    def rowCount(self, parent: _INDEX = QModelIndex()) -> int:  # noqa: B008 - Qt's own signature
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent: _INDEX = QModelIndex()) -> int:  # noqa: B008 - Qt's own signature
        return 0 if parent.isValid() else len(COLUMNS)

    def trial_at(self, row: int) -> Any:
        """The RankedTrial on `row` (its page is read when not cached), or None."""
        if not 0 <= row < self._count:
            return None
        page = self._page(row // PAGE_SIZE)
        offset = row % PAGE_SIZE
        return page[offset] if offset < len(page) else None

    def _row(self, row: int) -> Any:
        """What a paint needs: the cached row, else (with a reader) its page is asked for and None shown."""
        if self._reader is None or self.is_cached(row):
            return self.trial_at(row)
        if 0 <= row < self._count and not self.loading:
            self._request_page(row // PAGE_SIZE)
        return None

    def _request_page(self, number: int) -> None:
        if number in self._requested or self._reader is None or self._source is None or self._query is None:
            return
        self._requested.add(number)
        source, query, generation = self._source, self._query, self._generation
        robust = self._robust if self._robust is not None else {}
        self._reader.submit(
            "",
            lambda: source.page(query, number * PAGE_SIZE, PAGE_SIZE, robust),
            lambda page: self._page_arrived(number, page, generation),
            lambda text: self.failed.emit(f"Could not read trials from the store: {text}"),
        )

    def _page_arrived(self, number: int, page: list[Any], generation: int) -> None:
        if generation != self._generation:
            return
        self._requested.discard(number)
        self._keep_page(number, page)
        if self._robust is None:
            self._robust_timer.start()
        first = number * PAGE_SIZE
        last = min(self._count, first + len(page)) - 1
        if last >= first:
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1))

    def is_cached(self, row: int) -> bool:
        return row // PAGE_SIZE in self._pages

    def row_of(self, trial_id: int, hint: int | None = None) -> int | None:
        """The row showing `trial_id`: cached pages first, then (without a reader thread) the pages around `hint` and
        the first two. With a reader, the pages a load needs come with it (prefetch): another would be read here, on
        the GUI thread."""
        for number, page in self._pages.items():
            for i, r in enumerate(page):
                if r.trial.id == trial_id:
                    return number * PAGE_SIZE + i
        if self._reader is not None:
            return None
        pages = [] if hint is None else [hint // PAGE_SIZE + d for d in (0, -1, 1)]
        for number in dict.fromkeys(pages + [0, 1]):
            if 0 <= number * PAGE_SIZE < self._count and number not in self._pages:
                for i, r in enumerate(self._page(number)):
                    if r.trial.id == trial_id:
                        return number * PAGE_SIZE + i
        return None

    def data(self, index: _INDEX, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role not in _ROLES:
            return None
        r = self._row(index.row())
        if r is None:
            return "…" if role == Qt.ItemDataRole.DisplayRole else None
        column = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(r)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            horizontal = Qt.AlignmentFlag.AlignRight if column.numeric else Qt.AlignmentFlag.AlignLeft
            return int(horizontal | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and column.key == "status":
            colour = _STATUS_COLOURS.get(r.trial.status)
            return QColor(colour) if colour else None
        if role == Qt.ItemDataRole.ToolTipRole:
            if column.key in ("status", "diagnosis") and r.trial.message:
                return r.trial.message
            if column.key == "dataset" and SEPARATOR in (r.trial.dataset_label or ""):  # the cell shows the name
                return (r.trial.config.get("data") or {}).get("path") or None
            return column.text(r) if column.key in ("notes", "robust") else None
        if role == TRIAL_ROLE:
            return r
        if role == ID_ROLE:
            return r.trial.id
        return None

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section].header
        if role == Qt.ItemDataRole.ToolTipRole:
            return COLUMNS[section].tip or None
        return None

    # ---- keeping cached rows true -------------------------------------------------------------
    def patch_trial(self, trial_id: int, **changes: Any) -> None:
        """A change made through the tab (notes): update the cached row instead of reading every page."""
        for number, page in self._pages.items():
            for i, r in enumerate(page):
                if r.trial.id == trial_id:
                    page[i] = dataclasses.replace(r, trial=dataclasses.replace(r.trial, **changes))
                    row = number * PAGE_SIZE + i
                    self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    # ---- paging -------------------------------------------------------------------------------
    def _page(self, number: int) -> list[Any]:
        page = self._pages.get(number)
        if page is not None:
            self._pages.move_to_end(number)
            return page
        page = []
        if self._source is not None and self._query is not None:
            try:
                if self._robust is None and self._parts.sort == "robust":  # the order needs it now
                    self._robust = self._source.robust_table(self._query)
                # Otherwise the first rows show without it and the Robust column fills one event-loop turn
                # later: grouping every trial is most of a first page's cost on a big store.
                page = self._source.page(
                    self._query, number * PAGE_SIZE, PAGE_SIZE, self._robust if self._robust is not None else {}
                )
                if self._robust is None:
                    self._robust_timer.start()
            except Exception as exc:
                self.failed.emit(f"Could not read trials from the store: {one_line(exc)}")
        self._keep_page(number, page)
        return page

    def _keep_page(self, number: int, page: list[Any]) -> None:
        self._pages[number] = page
        while len(self._pages) > MAX_PAGES:
            self._pages.popitem(last=False)
        # Trials recorded before diagnoses were stored get theirs a few at a time, after this paint.
        self._to_diagnose += [
            r.trial.id
            for r in page
            if r.trial.diagnosis is None
            and r.trial.kind == "train"
            and not r.trial.running
            and not r.trial.queued
            and r.trial.id not in self._to_diagnose
        ]
        if self._to_diagnose:
            self._diagnose_timer.start()

    @property
    def robust_known(self) -> bool:
        """Whether the Robust column shows this load's numbers (they follow the first rows)."""
        return self._robust is not None

    def _fill_robust(self) -> None:
        if self._source is None or self._query is None or self._robust is not None:
            return
        if self._reader is not None:
            source, query, generation = self._source, self._query, self._generation
            self._reader.submit(
                "robust",
                lambda: source.robust_table(query),
                lambda table: generation == self._generation and self._apply_robust(table),
                lambda text: self.failed.emit(f"Could not rank configs by their seeds: {text}"),
            )
            return
        try:
            self._apply_robust(self._source.robust_table(self._query))
        except Exception as exc:
            self.failed.emit(f"Could not rank configs by their seeds: {one_line(exc)}")

    def _apply_robust(self, table: dict[str, Any]) -> None:
        self._robust = table
        for page in self._pages.values():
            for i, r in enumerate(page):
                stats = self._robust.get(r.trial.config_key) if r.trial.kind == "train" else None
                if stats is not None:
                    page[i] = dataclasses.replace(
                        r, robust_mean=stats.mean, robust_std=stats.std, robust_n=stats.n, robust_rank=stats.rank
                    )
        column = COLUMN_INDEX["robust"]
        if self._count:
            self.dataChanged.emit(self.index(0, column), self.index(self._count - 1, column))

    def _diagnose_some(self) -> None:
        ids, self._to_diagnose = self._to_diagnose[:DIAGNOSE_CHUNK], self._to_diagnose[DIAGNOSE_CHUNK:]
        if self._source is None or not ids:
            return
        if self._reader is not None:
            source, generation = self._source, self._generation
            self._reader.submit(
                "",
                lambda: source.fill_diagnoses(ids),
                lambda labels: self._diagnosed(labels, generation),
                lambda _text: self._diagnosed({}, generation),  # as below: the rest are still tried
            )
            return
        try:
            labels = self._source.fill_diagnoses(ids)
        except Exception:
            labels = {}
        self._diagnosed(labels, self._generation)

    def _diagnosed(self, labels: dict[int, str], generation: int) -> None:
        if generation != self._generation:
            return
        for trial_id, label in labels.items():
            self.patch_trial(trial_id, diagnosis=label)
        if self._to_diagnose:
            self._diagnose_timer.start()


_ROLES = (
    Qt.ItemDataRole.DisplayRole,
    Qt.ItemDataRole.TextAlignmentRole,
    Qt.ItemDataRole.ForegroundRole,
    Qt.ItemDataRole.ToolTipRole,
    TRIAL_ROLE,
    ID_ROLE,
)
