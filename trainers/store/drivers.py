"""The database driver a store URL needs: PostgreSQL through psycopg 3, named in one error when it is missing.

`postgresql://` (and `postgres://`, as libpq and Heroku-style settings write it) means psycopg 3 here, where
SQLAlchemy alone would pick psycopg2: such URLs are rewritten to `postgresql+psycopg://`."""

from __future__ import annotations

import importlib

from sqlalchemy.engine import URL

from trainers.spec.errors import StoreError
from trainers.spec.url_display import safe_url

PSYCOPG_SCHEME = "postgresql+psycopg"
_PLAIN_SCHEMES = ("postgresql://", "postgres://")
INSTALL_HINT = "install it with `pip install 'tunelab[postgres]'`"
# SQLAlchemy driver name → the module it imports
_DRIVER_MODULES = {"psycopg": "psycopg", "psycopg2": "psycopg2", "pg8000": "pg8000", "asyncpg": "asyncpg"}


def with_default_driver(url: str) -> str:
    """A PostgreSQL URL without a driver gets psycopg 3; every other value is returned as given."""
    for plain in _PLAIN_SCHEMES:
        if url.startswith(plain):
            return f"{PSYCOPG_SCHEME}://{url[len(plain) :]}"
    return url


def require_driver(url: URL) -> None:
    """A StoreError naming the extra to install when the driver of a PostgreSQL `url` cannot be imported."""
    if url.get_backend_name() != "postgresql":
        return
    driver = url.get_driver_name() or "psycopg2"
    module = _DRIVER_MODULES.get(driver, driver)
    try:
        importlib.import_module(module)
    except ImportError as exc:
        hint = INSTALL_HINT if module == "psycopg" else f"install {module}, or use {PSYCOPG_SCHEME}:// with psycopg"
        raise StoreError(
            f"the store {safe_url(url.render_as_string(hide_password=False))} is on PostgreSQL, whose driver "
            f"{module} is not installed ({exc}): {hint}"
        ) from exc
