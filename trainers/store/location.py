"""Where a store lives: the argument, else $TUNELAB_STORE, else the default file.

Only something with `scheme://` is read as a SQLAlchemy URL. Anything else is a file path taken literally:
`runs?v1.db` and `runs%25.db` name those very files, so the URL built from a path escapes them."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import URL

from trainers.spec.errors import StoreError, StoreMissing
from trainers.spec.paths import default_store_path
from trainers.store.drivers import with_default_driver


def store_value(url: str | None = None) -> str:
    return (url or "").strip() or os.environ.get("TUNELAB_STORE", "").strip() or str(default_store_path())


def is_url(value: str) -> bool:
    return "://" in value


def sqlite_url(path: Path) -> str:
    """The SQLite URL of a file, with `?`, `#` and `%` in its name escaped so that parsing it gives the file back."""
    return URL.create("sqlite", database=str(path)).render_as_string(hide_password=False)


def resolve_store_url(url: str | None = None, create_folder: bool = True) -> str:
    """The store's URL; a plain path becomes the SQLite URL of that file (its folder created unless told not to)."""
    value = store_value(url)
    if is_url(value):
        return with_default_driver(value)
    path = Path(value).expanduser().resolve()
    if create_folder:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the folder for the trial store {path}: {exc}") from exc
    return sqlite_url(path)


def check_store_file(path: Path, must_exist: bool) -> None:
    """A folder is never a store; a store that must already exist (for reading) is named when it does not."""
    if path.is_dir():
        raise StoreError(f"{path} is a directory: give the store as a file inside it, such as {path / 'trials.db'}")
    if must_exist and not path.exists():
        raise StoreMissing(f"no store at {path}")
