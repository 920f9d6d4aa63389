"""Finding a trial's file on this host: where the trial recorded it, in this host's view of the store's folder, or
fetched from the store's database into a local cache folder.

A trial records its files by the path its own host wrote (checkpoint_best, checkpoint_last), as it always has, so
trials stored before artifacts existed resolve exactly as before. Another host finds the file by its name instead:
in the store's folder as this host sees it (an SQLite store's folder on a shared mount, a shared artifact root),
else in the database (trainers/store/artifact_store.py), copied once into the cache and checked by its sha256.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs
from sqlalchemy.engine import make_url

from trainers.store.artifact_store import ArtifactInfo, file_digest

if TYPE_CHECKING:
    from trainers.store.trial_store import TrialStore

CACHE_ENV = "TUNELAB_CACHE_DIR"


def cache_dir() -> Path:
    """$TUNELAB_CACHE_DIR when set, else the platform's per-user cache folder: files fetched from a store."""
    env = os.environ.get(CACHE_ENV, "").strip()
    return Path(env).expanduser() if env else Path(platformdirs.user_cache_dir("tunelab"))


def store_cache(store: TrialStore) -> Path:
    """This store's cache folder: one per store, named by a digest of its URL (the password left out)."""
    shown = make_url(store.url).render_as_string(hide_password=True)
    return cache_dir() / "artifacts" / hashlib.sha1(shown.encode()).hexdigest()[:16]


def _on_this_host(store: TrialStore, trial_id: int, stored: str) -> Path | None:
    path = Path(stored)
    if path.is_file():
        return path
    here = store.artifact_policy.folder / str(int(trial_id)) / path.name
    return here if here.is_file() else None


def reachable(store: TrialStore, trial_id: int, stored: str | None) -> bool:
    """Whether the trial's file recorded as `stored` can be had on this host (nothing is fetched)."""
    if not stored:
        return False
    return _on_this_host(store, trial_id, stored) is not None or store.artifacts.exists(trial_id, Path(stored).name)


def _cached(path: Path, info: ArtifactInfo) -> bool:
    return path.is_file() and path.stat().st_size == info.size and file_digest(path)[1] == info.sha256


def local_file(store: TrialStore, trial_id: int, stored: str | None) -> Path | None:
    """A path on this host holding the trial's file recorded as `stored` (fetched from the database into the cache
    when only the database has it); None when no copy can be found."""
    if not stored:
        return None
    found = _on_this_host(store, trial_id, stored)
    if found is not None:
        return found
    name = Path(stored).name
    info = store.artifacts.info(trial_id, name)
    if info is None:
        return None
    target = store_cache(store) / str(int(trial_id)) / name
    if _cached(target, info):
        return target
    return store.artifacts.get_file(trial_id, name, target)
