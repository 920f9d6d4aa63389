"""Optuna's storage beside the trial store, reachable from the store's URL alone.

Optuna's RDB schema has a table named `trials`, as the store does, so the two never share one schema. A SQLite
store at /x/runs.db keeps its studies in the journal file /x/runs.optuna.journal (JournalFileBackend: no schema to
create, so several workers may start on a fresh file at once); a PostgreSQL store keeps them on the same server in
the schema `tunelab_optuna` (the URL's `options=-csearch_path=...`). A storage "URL" is therefore either a file
path (a journal) or a SQLAlchemy URL (an RDB storage): `tunelab worker --storage`, `optuna-dashboard` and
`optuna.load_study` (through `open_storage`) all take what `study_storage_url` returns."""

from __future__ import annotations

import warnings
from pathlib import Path

import optuna
from optuna.storages.journal import JournalFileBackend
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from trainers.spec.errors import StoreError
from trainers.spec.url_display import safe_url, with_password
from trainers.store.database import sqlite_file
from trainers.store.drivers import require_driver, with_default_driver
from trainers.store.location import is_url, resolve_store_url

JOURNAL_SUFFIX = ".optuna.journal"
SCHEMA = "tunelab_optuna"
SEARCH_PATH_OPTION = f"-csearch_path={SCHEMA}"
# Liveness of a running Optuna trial: a heartbeat every HEARTBEAT_S seconds; a trial silent for GRACE_S is taken
# for dead (its worker was killed), marked failed and its parameters queued again once.
HEARTBEAT_S = 5
GRACE_S = 30


def study_storage_url(store_url: str) -> str:
    """Where the studies of the store at `store_url` live: a journal file path or a PostgreSQL URL."""
    url = _parse(store_url if is_url(store_url) else resolve_store_url(store_url, create_folder=False))
    backend = url.get_backend_name()
    if backend == "sqlite":
        db_file = sqlite_file(url)
        if db_file is None:
            raise StoreError(
                f"a search needs a store in a file or on a server: {store_url} is in memory, so worker processes "
                "could not reach it"
            )
        return str(db_file.with_name(db_file.stem + JOURNAL_SUFFIX))
    if backend == "postgresql":
        return url.update_query_dict({"options": SEARCH_PATH_OPTION}).render_as_string(hide_password=False)
    raise StoreError(f"a search needs an SQLite or PostgreSQL store, not {backend} ({_shown(url)})")


def is_journal(storage_url: str) -> bool:
    return not is_url(storage_url)


def open_storage(storage_url: str, grace_s: int = GRACE_S) -> optuna.storages.BaseStorage:
    """The storage at `storage_url`: a journal file, or an RDB storage with Optuna's heartbeat (a trial whose
    worker died is failed after `grace_s` seconds and its parameters retried once)."""
    if is_journal(storage_url):
        path = Path(storage_url).expanduser()
        if path.is_dir():
            raise StoreError(f"{path} is a directory, not an Optuna journal file")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            backend = JournalFileBackend(str(path))
        except OSError as exc:
            raise StoreError(f"cannot open the Optuna journal {path}: {exc}") from exc
        return optuna.storages.JournalStorage(backend)
    # a URL copied from output (password shown as ***) connects without one: PGPASSWORD or ~/.pgpass stand in
    url = _parse(with_password(storage_url, ""))
    require_driver(url)
    quiet_heartbeat_warnings()
    if url.get_backend_name() == "postgresql":
        create_schema(url)
    try:
        return optuna.storages.RDBStorage(
            url.render_as_string(hide_password=False),
            heartbeat_interval=HEARTBEAT_S,
            grace_period=max(grace_s, 2 * HEARTBEAT_S),
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1),
        )
    except (SQLAlchemyError, ImportError, ValueError, RuntimeError) as exc:
        raise StoreError(f"cannot open the Optuna storage {_shown(url)}: {exc}") from exc


def quiet_heartbeat_warnings() -> None:
    """Optuna marks its RDB heartbeat experimental and warns at every ask/tell that it expects Study.optimize; the
    search uses the heartbeat with ask-and-tell on purpose (tests pin the requeue), so these lines are only noise."""
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning, module=r"optuna|trainers")
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")


def create_schema(url: URL) -> None:
    """The schema named by the URL's search path, created when missing (two workers may race: either wins)."""
    plain = url.difference_update_query(["options"])
    engine = create_engine(plain)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
    except SQLAlchemyError as exc:
        if "already exists" not in str(exc) and "duplicate key" not in str(exc):
            raise StoreError(f"cannot create the schema {SCHEMA} on {_shown(url)}: {exc}") from exc
    finally:
        engine.dispose()


def _parse(value: str) -> URL:
    try:
        return make_url(with_default_driver(value))
    except ArgumentError as exc:
        raise StoreError(f"{safe_url(value)!r} is not a store URL: {exc}") from exc


def _shown(url: URL) -> str:
    return safe_url(url.render_as_string(hide_password=False))
