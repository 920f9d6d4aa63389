"""Ranked, filtered, sorted pages of trials, computed by the database so 10,000 trials cost what 100 do.

The rank is the position by the ranking metric within the filtered trials (a window function); trials
without that metric have no rank. The robust score groups repeats of one config (same config_key) and
ranks the group by mean ∓ standard deviation, so a lucky seed does not win.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, literal, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, Select

from trainers.spec.dataset_label import SEPARATOR
from trainers.spec.errors import StoreError
from trainers.store.records import TrialRecord, trial_record
from trainers.store.schema import STATUSES, Trial

# metric name → (column, True when higher is better)
RANK_METRICS: dict[str, tuple[str, bool]] = {
    "val_acc": ("best_val_acc", True),
    "val_loss": ("best_val_loss", False),
    "test_acc": ("test_acc", True),
    "duration": ("duration_s", False),
}
FILTER_COLUMNS = ("status", "kind", "dataset", "dataset_label", "model", "optimizer", "diagnosis")
TEXT_COLUMNS = (
    "name",
    "notes",
    "message",
    "dataset",
    "dataset_label",
    "model",
    "optimizer",
    "kind",
    "status",
    "diagnosis",
)
MAX_ID = 2**63 - 1  # a longer number in the search box is text, not a trial id the database could hold
SORTABLE = ("rank", "robust", *(c.key for c in Trial.__table__.columns if not c.key.endswith("_json")))


@dataclass(frozen=True)
class TrialQuery:
    metric: str = "val_acc"  # what the rank is by (RANK_METRICS)
    sort: str = "rank"  # "rank", "robust" (the robust rank) or a column name
    descending: bool = False  # rank ascending = best first
    filters: tuple[tuple[str, str], ...] = ()  # (column, value) pairs; values of one column are OR-ed
    text: str = ""  # free text over TEXT_COLUMNS; "#12" or "12" also matches id 12

    def __post_init__(self) -> None:
        if self.metric not in RANK_METRICS:
            raise StoreError(f"metric = {self.metric!r} is invalid: one of {', '.join(RANK_METRICS)}")
        if self.sort not in SORTABLE:
            raise StoreError(f"sort = {self.sort!r} is invalid: one of {', '.join(SORTABLE)}")
        for column, value in self.filters:
            if column not in FILTER_COLUMNS:
                raise StoreError(f"filter {column}={value} is invalid: filter by {', '.join(FILTER_COLUMNS)}")
            if column == "status" and value not in STATUSES:
                raise StoreError(f"filter status={value} is invalid: one of {', '.join(STATUSES)}")


@dataclass(frozen=True)
class RankedTrial:
    trial: TrialRecord
    rank: int | None  # position by the metric among the filtered trials
    robust_mean: float | None  # the metric over every finished trial with this config (all seeds), when
    robust_std: float | None  # the config ran with at least two seeds
    robust_n: int  # how many seeds went into the mean (0: fewer than two)
    robust_rank: int | None  # position of this config's mean ∓ std among configs run with several seeds


def _literal(text: str) -> str:
    """`text` for LIKE with % and _ matched literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _dataset_matches(values: list[str]) -> ColumnElement[bool]:
    """dataset=V: the source ("csv"), the whole label ("csv: iris.csv") or the file or folder name ("iris.csv")."""
    named = [Trial.dataset_label.like(f"%{SEPARATOR}{_literal(v)}", escape="\\") for v in values]
    return or_(Trial.dataset.in_(values), Trial.dataset_label.in_(values), *named)


def _where(q: TrialQuery) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    by_column: dict[str, list[str]] = {}
    for column, value in q.filters:
        by_column.setdefault(column, []).append(value)
    for column, values in by_column.items():
        clauses.append(_dataset_matches(values) if column == "dataset" else getattr(Trial, column).in_(values))
    text = q.text.strip()
    if text:
        # the text is matched literally: % and _ are not wildcards here
        escaped = _literal(text.lower())
        matches: list[ColumnElement[bool]] = [
            func.lower(getattr(Trial, c)).like(f"%{escaped}%", escape="\\") for c in TEXT_COLUMNS
        ]
        digits = text.lstrip("#")
        if digits.isdigit() and int(digits) <= MAX_ID:
            matches.append(Trial.id == int(digits))
        clauses.append(or_(*matches))
    return clauses


@dataclass(frozen=True)
class RobustStats:
    mean: float
    std: float
    n: int
    rank: int


# Runs whose metric speaks for the config: a diverged seed counts (with the best it reached) — leaving it out
# would hide exactly the instability the robust rank is there to expose.
ROBUST_STATUSES = ("completed", "stopped", "pruned", "diverged")


def robust_table(session: Session, q: TrialQuery) -> dict[str, RobustStats]:
    """Per training config run with at least two distinct seeds: mean and sample standard deviation of the
    metric over its seeds (repeats of one seed averaged first, so they do not count twice), and the config's
    rank by mean ∓ std (its worst plausible score). A config run with one seed has no spread to judge, so it
    gets no robust rank: one lucky seed must not win."""
    column_name, higher_is_better = RANK_METRICS[q.metric]
    column = getattr(Trial, column_name)
    per_seed = (
        select(Trial.config_key.label("key"), func.avg(column).label("m"))
        .where(
            column.is_not(None), Trial.status.in_(ROBUST_STATUSES), Trial.config_key.is_not(None), Trial.kind == "train"
        )
        .group_by(Trial.config_key, Trial.seed)
        .subquery("per_seed")
    )
    m = per_seed.c.m
    stmt = (
        select(per_seed.c.key, func.avg(m), func.avg(m * m), func.count())
        .group_by(per_seed.c.key)
        .having(func.count() >= 2)
    )
    groups = []
    for key, mean, mean_sq, n in session.execute(stmt):
        n = int(n)
        variance = max(0.0, (mean_sq - mean * mean) * n / (n - 1))  # sample variance: n seeds, n − 1 freedoms
        groups.append((key, mean, math.sqrt(variance), n))
    groups.sort(key=lambda g: -(g[1] - g[2]) if higher_is_better else g[1] + g[2])
    table: dict[str, RobustStats] = {}
    rank, last = 0, None
    for key, mean, std, n in groups:
        score = mean - std if higher_is_better else mean + std
        if score != last:  # equal scores share a rank (dense: it ranks configs, not trials)
            rank, last = rank + 1, score
        table[key] = RobustStats(mean, std, n, rank)
    return table


def _ranked(q: TrialQuery) -> Select:
    """(id, config_key, rank, sort value) of the filtered trials; narrow rows, so ranking 10,000 is cheap."""
    column_name, higher_is_better = RANK_METRICS[q.metric]
    metric = getattr(Trial, column_name)
    best_first = metric.desc() if higher_is_better else metric.asc()
    rank = case(
        (metric.is_(None), None), else_=func.rank().over(order_by=[case((metric.is_(None), 1), else_=0), best_first])
    )
    sort_value = getattr(Trial, q.sort) if q.sort not in ("rank", "robust") else literal(None)
    return select(Trial.id, Trial.kind, Trial.config_key, rank.label("rank"), sort_value.label("sort_value")).where(
        *_where(q)
    )


def _page_rows(
    session: Session, q: TrialQuery, robust: dict[str, RobustStats], offset: int, limit: int | None
) -> list[Any]:
    if q.sort == "rank" and not q.descending:
        return _rank_page(session, q, offset, limit)
    inner = _ranked(q).subquery("ranked")
    if q.sort == "robust":  # the order comes from robust_table: sort the narrow rows here
        rows = list(session.execute(select(inner)))

        def has_robust(r: Any) -> bool:  # a range test of the same config is not one of its seeds
            return r.kind == "train" and r.config_key in robust

        rows.sort(key=lambda r: (robust[r.config_key].rank if has_robust(r) else 0, r.id), reverse=q.descending)
        rows.sort(key=lambda r: not has_robust(r))  # trials without a robust rank last either way
        return rows[offset : None if limit is None else offset + limit]
    key = inner.c.rank if q.sort == "rank" else inner.c.sort_value
    ordered = key.desc() if q.descending else key.asc()
    stmt = (
        select(inner)
        .order_by(case((key.is_(None), 1), else_=0), ordered, inner.c.id.desc() if q.descending else inner.c.id.asc())
        .offset(offset)
    )
    return list(session.execute(stmt if limit is None else stmt.limit(limit)))


class _Row:
    def __init__(self, id: int, config_key: str | None, rank: int | None) -> None:
        self.id, self.config_key, self.rank = id, config_key, rank


def _rank_page(session: Session, q: TrialQuery, offset: int, limit: int | None) -> list[Any]:
    """Sorted by rank, a page is an index range of the metric: no window over every trial is needed. The
    first row's rank is one more than the trials strictly better than it; ties then share a rank."""
    column_name, higher_is_better = RANK_METRICS[q.metric]
    metric = getattr(Trial, column_name)
    best_first = metric.desc() if higher_is_better else metric.asc()
    order = [case((metric.is_(None), 1), else_=0), best_first, Trial.id.asc()]
    stmt = select(Trial.id, Trial.config_key, metric).where(*_where(q)).order_by(*order).offset(offset)
    rows = session.execute(stmt if limit is None else stmt.limit(limit)).all()
    ranked = [r for r in rows if r[2] is not None]
    if not ranked:
        return [_Row(i, key, None) for i, key, _ in rows]
    # ranks for the whole page from two counts: trials strictly better than its first value, and ties of it
    first = ranked[0][2]
    better = metric > first if higher_is_better else metric < first
    count_better = int(session.scalar(select(func.count()).select_from(Trial).where(*_where(q), better)) or 0)
    ties = int(session.scalar(select(func.count()).select_from(Trial).where(*_where(q), metric == first)) or 0)
    page_ties = sum(1 for r in ranked if r[2] == first)
    first_index: dict[float, int] = {}
    page = []
    for i, (trial_id, key, value) in enumerate(rows):
        if value is None:
            page.append(_Row(trial_id, key, None))
            continue
        first_index.setdefault(value, i)
        rank = 1 + count_better + (0 if value == first else ties + first_index[value] - page_ties)
        page.append(_Row(trial_id, key, rank))
    return page


def query_page(
    session: Session,
    q: TrialQuery,
    offset: int = 0,
    limit: int | None = None,
    robust: dict[str, RobustStats] | None = None,
) -> list[RankedTrial]:
    """`robust` is robust_table() for q's metric, when the caller keeps it between pages (it groups every
    trial); computed when None. An empty dict leaves the robust fields empty, for a caller that fills them
    later; sorting by "robust" needs the real table."""
    if robust is None or (q.sort == "robust" and not robust):
        robust = robust_table(session, q)
    page = _page_rows(session, q, robust, offset, limit)
    # only the page's trials are read in full (their config and extra JSON are the wide part of a row)
    full = {t.id: trial_record(t) for t in session.scalars(select(Trial).where(Trial.id.in_([r.id for r in page])))}
    result = []
    for r in page:
        stats = robust.get(r.config_key) if full[r.id].kind == "train" else None
        result.append(
            RankedTrial(
                full[r.id],
                r.rank,
                stats.mean if stats else None,
                stats.std if stats else None,
                stats.n if stats else 0,
                stats.rank if stats else None,
            )
        )
    return result


def count_matching(session: Session, q: TrialQuery) -> int:
    return int(session.scalar(select(func.count()).select_from(Trial).where(*_where(q))) or 0)


def distinct_values(session: Session, column: str) -> list[str]:
    if column not in FILTER_COLUMNS:
        raise StoreError(f"column = {column!r} is invalid: one of {', '.join(FILTER_COLUMNS)}")
    col = getattr(Trial, column)
    return [v for v in session.scalars(select(col).where(col.is_not(None)).distinct().order_by(col)) if v != ""]
