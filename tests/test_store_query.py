"""Ranked, filtered and sorted pages of trials; robust ranking over seeds; adding new columns to old stores."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from trainers.spec.config import RunConfig
from trainers.spec.errors import StoreError
from trainers.store import TrialQuery, TrialStore
from trainers.store.config_key import config_key


def add(
    store: TrialStore,
    *,
    acc: float | None,
    lr: float = 1e-3,
    seed: int = 0,
    status: str = "completed",
    model: str = "mlp",
    kind: str = "train",
    name: str = "",
    duration: float | None = None,
) -> int:
    cfg = RunConfig().replace(**{"optim.lr": lr, "train.seed": seed}).to_dict()
    tid = store.create_trial(kind, cfg, name=name, dataset="digits", model=model, lr=lr, seed=seed)
    if status != "running":
        store.finish_trial(tid, status, best_val_acc=acc, best_val_loss=None if acc is None else 1 - acc)
    return tid


@pytest.fixture
def store(any_store_url: str):
    """A fresh store on SQLite, and again on PostgreSQL (tests/pg_fixtures.py)."""
    with TrialStore(any_store_url) as s:
        yield s


def ranks(store: TrialStore, q: TrialQuery | None = None, **page) -> list[tuple[int, int | None]]:
    return [(r.trial.id, r.rank) for r in store.query_trials(q or TrialQuery(), **page)]


def test_rank_follows_the_metric_with_ties_sharing_a_rank_and_unscored_trials_last(store: TrialStore) -> None:
    a = add(store, acc=0.9)
    b = add(store, acc=0.95)
    c = add(store, acc=0.9)
    d = add(store, acc=None, status="failed")
    e = add(store, acc=0.5)
    assert ranks(store) == [(b, 1), (a, 2), (c, 2), (e, 4), (d, None)]
    # every page agrees with the whole list, ties cut by a page boundary included
    pages = [row for offset in range(0, 5, 2) for row in ranks(store, offset=offset, limit=2)]
    assert pages == ranks(store)
    by_loss = ranks(store, TrialQuery(metric="val_loss"))
    assert by_loss == [(b, 1), (a, 2), (c, 2), (e, 4), (d, None)]  # lower loss is better
    worst_first = ranks(store, TrialQuery(descending=True))
    assert worst_first[:3] == [(e, 4), (c, 2), (a, 2)] and worst_first[-1] == (d, None)


def test_sorting_by_any_column_keeps_empty_values_last(store: TrialStore) -> None:
    ids = [add(store, acc=a, lr=lr) for a, lr in ((0.9, 3e-3), (0.8, 1e-2), (0.7, 1e-4))]
    nolr = store.create_trial("lr_test", RunConfig().to_dict(), lr=None)
    up = [r.trial.id for r in store.query_trials(TrialQuery(sort="lr"))]
    down = [r.trial.id for r in store.query_trials(TrialQuery(sort="lr", descending=True))]
    assert up == [ids[2], ids[0], ids[1], nolr] and down == [ids[1], ids[0], ids[2], nolr]
    # the rank column stays the metric's rank whatever the sort
    assert {r.trial.id: r.rank for r in store.query_trials(TrialQuery(sort="lr"))} == {
        ids[0]: 1,
        ids[1]: 2,
        ids[2]: 3,
        nolr: None,
    }


def test_filters_and_free_text(store: TrialStore) -> None:
    a = add(store, acc=0.9, model="mlp", name="baseline")
    b = add(store, acc=0.8, model="cnn")
    c = add(store, acc=0.7, model="cnn", status="diverged")
    store.set_notes(b, "Wider kernels helped")

    def ids(q: TrialQuery) -> set[int]:
        return {r.trial.id for r in store.query_trials(q)}

    assert ids(TrialQuery(filters=(("model", "cnn"),))) == {b, c}
    assert ids(TrialQuery(filters=(("model", "cnn"), ("status", "completed")))) == {b}
    assert ids(TrialQuery(filters=(("status", "completed"), ("status", "diverged")))) == {a, b, c}
    assert ids(TrialQuery(text="wider")) == {b}  # notes, case-insensitive
    assert ids(TrialQuery(text="BASE")) == {a}  # name
    assert ids(TrialQuery(text=f"#{c}")) == {c}  # id
    assert store.count_matching(TrialQuery(filters=(("model", "cnn"),))) == 2
    assert store.distinct_values("model") == ["cnn", "mlp"]
    # ranks are within what the filter shows
    assert [(r.trial.id, r.rank) for r in store.query_trials(TrialQuery(filters=(("model", "cnn"),)))] == [
        (b, 1),
        (c, 2),
    ]


def test_bad_queries_name_what_is_allowed() -> None:
    with pytest.raises(StoreError, match="metric"):
        TrialQuery(metric="speed")
    with pytest.raises(StoreError, match="sort"):
        TrialQuery(sort="colour")
    with pytest.raises(StoreError, match="filter"):
        TrialQuery(filters=(("config_json", "x"),))
    with pytest.raises(StoreError, match="status"):
        TrialQuery(filters=(("status", "finished"),))


def test_robust_rank_groups_seeds_of_one_config_and_a_lucky_single_seed_does_not_win(store: TrialStore) -> None:
    steady = [add(store, acc=a, lr=1e-3, seed=s) for s, a in enumerate((0.90, 0.91, 0.92))]
    jumpy = [add(store, acc=a, lr=1e-2, seed=s) for s, a in enumerate((0.99, 0.80, 0.87))]
    lucky = add(store, acc=0.995, lr=3e-2)
    rows = {r.trial.id: r for r in store.query_trials()}
    assert rows[lucky].rank == 1 and rows[lucky].robust_rank is None and rows[lucky].robust_n == 0
    s = rows[steady[0]]
    assert (
        s.robust_n == 3 and s.robust_mean == pytest.approx(0.91) and s.robust_std == pytest.approx(0.01, 1e-6)
    )  # sample std of 0.90, 0.91, 0.92
    j = rows[jumpy[0]]
    assert j.robust_mean == pytest.approx(0.8867, abs=1e-4)
    assert s.robust_rank == 1 and j.robust_rank == 2  # jumpy's best seed (0.99) does not carry it
    order = [r.trial.id for r in store.query_trials(TrialQuery(sort="robust"))]
    assert set(order[:3]) == set(steady) and set(order[3:6]) == set(jumpy) and order[-1] == lucky


def test_the_seed_does_not_change_a_config_key_but_the_learning_rate_does() -> None:
    base = RunConfig()
    assert config_key(base.to_dict()) == config_key(base.replace(**{"train.seed": 7, "train.threads": 1}).to_dict())
    assert config_key(base.to_dict()) != config_key(base.replace(**{"optim.lr": 0.01}).to_dict())


def test_an_older_store_gets_the_new_columns_and_its_config_keys(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with TrialStore(str(db)) as s:
        tid = add(s, acc=0.9)
    con = sqlite3.connect(db)  # make it look like a store from before these columns existed
    con.execute("DROP INDEX IF EXISTS ix_trials_config_key")
    con.execute("DROP INDEX IF EXISTS ix_trials_diagnosis")
    con.execute("ALTER TABLE trials DROP COLUMN config_key")
    con.execute("ALTER TABLE trials DROP COLUMN diagnosis")
    con.commit()
    assert "config_key" not in {r[1] for r in con.execute("PRAGMA table_info(trials)")}
    con.close()
    with TrialStore(str(db)) as s:
        trial = s.get_trial(tid)
        assert trial.config_key == config_key(trial.config) and trial.diagnosis is None
        s.update_trial(tid, diagnosis="good_fit")
        assert s.get_trial(tid).diagnosis == "good_fit"
    con = sqlite3.connect(db)
    assert "ix_trials_config_key" in {r[1] for r in con.execute("PRAGMA index_list(trials)")}
    con.close()


def test_a_range_test_of_a_config_is_not_counted_among_its_seeds(store: TrialStore) -> None:
    seeds = [add(store, acc=a, seed=s) for s, a in enumerate((0.90, 0.92))]
    lr_test = add(store, acc=0.5, kind="lr_test")
    rows = {r.trial.id: r for r in store.query_trials()}
    assert rows[seeds[0]].robust_n == 2 and rows[seeds[0]].robust_mean == pytest.approx(0.91)
    assert rows[lr_test].robust_rank is None and rows[lr_test].robust_n == 0
    assert [r.trial.id for r in store.query_trials(TrialQuery(sort="robust"))][-1] == lr_test


def test_robust_stats_count_seeds_not_trials_and_keep_diverged_seeds(store: TrialStore) -> None:
    twice = [add(store, acc=0.9, lr=1e-3, seed=0), add(store, acc=0.9, lr=1e-3, seed=0)]  # one seed run twice
    shaky = [
        add(store, acc=0.9, lr=1e-2, seed=0),
        add(store, acc=0.9, lr=1e-2, seed=1),
        add(store, acc=0.3, lr=1e-2, seed=2, status="diverged"),
    ]
    honest = [add(store, acc=a, lr=3e-3, seed=s) for s, a in enumerate((0.88, 0.86))]
    rows = {r.trial.id: r for r in store.query_trials()}
    assert rows[twice[0]].robust_n == 0 and rows[twice[0]].robust_rank is None  # one seed: no spread to judge
    assert rows[shaky[0]].robust_n == 3 and rows[shaky[0]].robust_mean == pytest.approx(0.7)
    assert rows[honest[0]].robust_std == pytest.approx(0.0141421, 1e-4)
    assert rows[honest[0]].robust_rank == 1 and rows[shaky[0]].robust_rank == 2  # the divergence counts against it


def test_search_text_is_literal_and_long_numbers_are_not_ids(store: TrialStore) -> None:
    a = add(store, acc=0.9, name="100% data")
    b = add(store, acc=0.8, name="1000 data")
    assert {r.trial.id for r in store.query_trials(TrialQuery(text="100%"))} == {a}
    assert {r.trial.id for r in store.query_trials(TrialQuery(text="_"))} == set()
    assert store.query_trials(TrialQuery(text="9" * 30)) == []
    assert b
