"""An export folder appears whole or not at all: it is written in a hidden sibling folder and renamed into place
once every file is written and checked, so a failed export leaves nothing behind."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from trainers.spec.errors import ExportError
from trainers.training.checkpoints import write_failure_reason


def usable_target(out_dir: Path | str) -> Path:
    """The folder to create: a new path, or an existing empty folder (filled). Anything else is refused."""
    target = Path(out_dir).expanduser().resolve()
    if target.exists() and not target.is_dir():
        raise ExportError(f"{target}: a file is in the way; choose a folder to export to")
    if target.is_dir() and any(target.iterdir()):
        raise ExportError(f"{target}: the folder is not empty; choose a new or empty folder to export to")
    return target


@contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """A fresh hidden folder beside `target`; renamed to `target` when the block succeeds, removed when it fails."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
        os.chmod(staging, 0o755)  # mkdtemp makes it private; the finished folder is an ordinary one
    except OSError as exc:
        raise ExportError(f"cannot create the export folder {target}: {write_failure_reason(exc, target)}") from None
    try:
        yield staging
        if target.is_dir():
            target.rmdir()  # empty (checked before): replaced by the finished folder
        os.replace(staging, target)
    except OSError as exc:
        raise ExportError(f"cannot write the export folder {target}: {write_failure_reason(exc, target)}") from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def free_folder(parent: Path | str, stem: str) -> Path:
    """`parent/stem`, or `parent/stem-2`, `-3` … : the first that does not exist yet (the window's default)."""
    base = Path(parent).expanduser()
    candidate, n = base / stem, 1
    while candidate.exists():
        n += 1
        candidate = base / f"{stem}-{n}"
    return candidate
