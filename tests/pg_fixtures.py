"""PostgreSQL fixtures (tests/pg_server.py): `pg_cluster` for the session, `pg_url` a fresh database per test, and
`any_store_url` giving each test that takes it once on SQLite and once on PostgreSQL.

Without PostgreSQL's binaries or the psycopg driver the PostgreSQL tests are skipped with the reason, except where
CI is set: there they fail, so a CI machine without PostgreSQL never passes by skipping."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest
from pg_server import PgCluster, PostgresMissing


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL tests need a local PostgreSQL: {reason}")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """A running throwaway server; `pg_cluster.stop()` / `pg_cluster.start()` take it away and back mid-test."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("the psycopg driver is not installed (pip install -e '.[test]')")
    try:
        cluster = PgCluster()
    except PostgresMissing as exc:
        _unavailable(str(exc))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> str:
    """The URL (password included) of a fresh, empty database on the session's server."""
    if not pg_cluster.running:  # an earlier test stopped it and failed before starting it again
        pg_cluster.start()
    return pg_cluster.new_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store's URL: an SQLite file in the test's folder, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store' / 'trials.db'}"
    return str(request.getfixturevalue("pg_url"))
