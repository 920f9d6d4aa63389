"""Where a store's files (checkpoints, ensemble files) go, so that every host using the store can reach them.

Measured by tests/bench/bench_artifacts.py (a resnet18-size checkpoint, 43 MB): writing it as chunks into the
database costs 4-6x a local save on SQLite and on PostgreSQL, reading it back 2-4x a local load. Hence:

* an artifact root (`TUNELAB_ARTIFACT_ROOT`, a folder every host mounts): files go there, under the store's name
  and the trial id; nothing goes to the database;
* an SQLite store: files stay in the folder beside the database file, as before (no copy in the database: another
  host reaches an SQLite file only through a shared folder, which holds that folder too);
* a PostgreSQL (or other server) store: files are written locally during the run, and once, when the trial
  finishes, copied into the database, where any host reads them with nothing but the store's URL.

`TUNELAB_ARTIFACTS=database` also copies an SQLite store's files into its database (one self-contained file);
`TUNELAB_ARTIFACTS=local` never copies (a single-host server store). An artifact root that is configured but
missing or not writable is reported in one line (`problem`), and the store's database takes its place.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL

from trainers.spec.errors import StoreError
from trainers.spec.paths import data_dir

ROOT_ENV = "TUNELAB_ARTIFACT_ROOT"
MODE_ENV = "TUNELAB_ARTIFACTS"
MODES = ("database", "local")


@dataclass(frozen=True)
class ArtifactPolicy:
    folder: Path  # this process writes the store's files here, one subfolder per trial
    in_database: bool  # finished trials' files are copied into the database
    root: Path | None = None  # the configured artifact root, reachable or not
    problem: str = ""  # why the configured root cannot be used from this host; "" when it can (or none is set)


def store_name(url: URL, db_file: Path | None) -> str:
    """The store's folder name under an artifact root: the same on every host (a server's database name, an SQLite
    file's name), unlike the URL, whose host part each machine may spell differently."""
    if db_file is not None:
        return db_file.stem
    return f"{url.get_backend_name()}-{url.database or 'default'}"


def local_folder(url: URL, db_file: Path | None) -> Path:
    """One folder per store, so trial 1 of one database never overwrites trial 1 of another: beside a database
    file, named after it; for a server database, in the data folder under a digest of its URL."""
    if db_file is not None:
        return db_file.parent / f"{db_file.stem}-checkpoints"
    if url.get_backend_name() == "sqlite":  # in memory: gone with the process, like the database
        return Path(tempfile.mkdtemp(prefix="tunelab-memory-store-"))
    digest = hashlib.sha1(url.render_as_string(hide_password=True).encode()).hexdigest()[:12]
    return data_dir() / "checkpoints" / f"{url.get_backend_name()}-{digest}"


def root_problem(root: Path) -> str:
    """Why files cannot be written under `root` from this host, in a few words; "" when they can."""
    if not root.exists():
        return "no such folder"
    if not root.is_dir():
        return "it is a file, not a folder"
    if not os.access(root, os.W_OK | os.X_OK):
        return "it is not writable"
    return ""


def artifact_policy(url: URL, db_file: Path | None) -> ArtifactPolicy:
    """The policy for the store at `url` in this process, from TUNELAB_ARTIFACT_ROOT and TUNELAB_ARTIFACTS."""
    mode = os.environ.get(MODE_ENV, "").strip().lower()
    if mode and mode not in MODES:
        raise StoreError(f"{MODE_ENV} = {mode!r} is invalid: one of {', '.join(MODES)}, or unset")
    server = db_file is None and url.get_backend_name() != "sqlite"
    in_database = mode == "database" or (server and mode != "local")
    value = os.environ.get(ROOT_ENV, "").strip()
    if not value:
        return ArtifactPolicy(local_folder(url, db_file), in_database)
    root = Path(value).expanduser()
    problem = root_problem(root)
    if problem:
        note = f"artifact root {root} ({ROOT_ENV}) cannot be used from this host: {problem}"
        if mode == "local":
            return ArtifactPolicy(local_folder(url, db_file), False, root, f"{note}; files stay on this host only")
        return ArtifactPolicy(local_folder(url, db_file), True, root, f"{note}; files go to the store's database")
    return ArtifactPolicy(root / store_name(url, db_file), mode == "database", root)
