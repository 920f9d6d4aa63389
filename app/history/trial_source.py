"""The History tab's one door to the trial store. trainers.api (and torch with it) is imported here only when
a source is opened, which happens after the engine has loaded, so the window still shows without it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence


@dataclass(frozen=True)
class QueryParts:
    """What the user chose (plain data); turned into a trainers TrialQuery when the store is asked."""

    metric: str = "val_acc"
    sort: str = "rank"
    descending: bool = False
    filters: tuple[tuple[str, str], ...] = ()
    text: str = ""

    def replace(self, **changes: Any) -> QueryParts:
        return replace(self, **changes)


@dataclass(frozen=True)
class TableLoad:
    """One load of the History table, read together off the GUI thread."""

    query: Any  # the TrialQuery
    count: int
    robust: dict[str, Any] | None  # read with the rows only when the order needs it
    pages: dict[int, list[Any]]  # page number -> RankedTrials


def read_load(source: TrialSource, parts: QueryParts, pages: set[int], page_size: int) -> TableLoad:
    """Count the trials `parts` shows and read the wanted pages (those that exist)."""
    query = source.query(parts)
    count = source.count(query)
    robust = source.robust_table(query) if parts.sort == "robust" and count else None
    read = {
        n: source.page(query, n * page_size, page_size, robust if robust is not None else {})
        for n in sorted(pages)
        if 0 <= n * page_size < count
    }
    return TableLoad(query, count, robust, read)


class TrialSource:
    """An open TrialStore plus the engine functions the tab needs; every call is one short query."""

    def __init__(self, store_url: str | None = None) -> None:
        import trainers.api as api

        self._api = api
        self.store = api.TrialStore(store_url)
        self.rows_fetched = 0  # trials read through query_trials: the lazy-loading test counts them

    def close(self) -> None:
        self.store.close()

    # ---- the table --------------------------------------------------------------------------
    def query(self, parts: QueryParts) -> Any:
        """A TrialQuery; free text may hold column=value words (`model=cnn wider`), as the CLI's --filter."""
        from trainers.api import parse_filter

        filters, text = parts.filters, parts.text
        try:
            extra, text = parse_filter(parts.text)
            filters = filters + extra
        except Exception:
            text = parts.text
        return self._api.TrialQuery(
            metric=parts.metric, sort=parts.sort, descending=parts.descending, filters=filters, text=text
        )

    def count(self, query: Any) -> int:
        return self.store.count_matching(query)

    def page(self, query: Any, offset: int, limit: int, robust: dict[str, Any] | None = None) -> list[Any]:
        """RankedTrials; `robust` is the query's robust table when known ({} leaves those fields empty)."""
        rows = self.store.query_trials(query, offset, limit, robust=robust)
        self.rows_fetched += len(rows)
        return rows

    def robust_table(self, query: Any) -> dict[str, Any]:
        """config_key -> mean, std, seeds and robust rank: one pass over every trial, so kept between pages."""
        return self.store.robust_table(query)

    def distinct(self, column: str) -> list[str]:
        return self.store.distinct_values(column)

    def latest_dataset(self) -> str | None:
        """The dataset label of the most recent trial (what History ranks within by default); None in an empty
        store."""
        latest = self.store.list_trials(order_by="id", limit=1)
        return latest[0].dataset_label if latest else None

    def fill_diagnoses(self, trial_ids: Sequence[int]) -> dict[int, str]:
        return self._api.fill_diagnoses(self.store, trial_ids)

    # ---- one trial --------------------------------------------------------------------------
    def trial(self, trial_id: int) -> Any:
        return self.store.get_trial(trial_id)

    def epochs(self, trial_id: int) -> list[Any]:
        return self.store.epochs(trial_id)

    def diagnose(self, trial: Any, epochs: Sequence[Any]) -> Any:
        return self._api.diagnose_record(trial, epochs, self.store)  # the store: its LR finder band

    def set_notes(self, trial_id: int, text: str) -> None:
        self.store.set_notes(trial_id, text)

    def delete(self, trial_id: int) -> None:
        self.store.delete_trial(trial_id)

    def export(self, trial_ids: Sequence[int], path: str) -> Any:
        return self._api.export_trials(self.store, list(trial_ids), path)
