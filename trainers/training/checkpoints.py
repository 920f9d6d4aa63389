"""Model checkpoints: a state dict plus plain metadata in one torch file.

Written atomically (a crash mid-save leaves the previous file intact) and read with
`weights_only=True`, so opening a checkpoint someone sent you can never run code hidden in it.
"""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch

from trainers.spec.errors import StoreError

# Exact types, not isinstance: a numpy float is a float subclass that would pickle as numpy and then
# be refused by the weights-only loader.
_PLAIN = (str, int, float, bool, type(None))


def _check_meta(value: Any, where: str) -> None:
    kind = type(value)
    if kind in _PLAIN:
        return
    if kind in (list, tuple):
        for i, item in enumerate(value):
            _check_meta(item, f"{where}[{i}]")
        return
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise StoreError(f"{where} has the key {key!r}: checkpoint meta keys must be strings")
            _check_meta(item, f"{where}[{key!r}]")
        return
    raise StoreError(
        f"{where} is a {kind.__module__}.{kind.__qualname__}: checkpoint meta holds plain numbers and strings only"
    )


def write_failure_reason(exc: BaseException, folder: Path) -> str:
    """The operating system's reason a write failed, in its words ("no space left on device"), never PyTorch's
    internals: torch.save reports a failed write as "enforce fail at inline_container.cc" with the OSError only
    as its context."""
    if isinstance(exc, (FileExistsError, NotADirectoryError)):
        blocker = next((p for p in (folder, *folder.parents) if p.exists()), None)
        if blocker is not None and not blocker.is_dir():
            return f"{blocker} is a file, not a folder"
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror[0].lower() + seen.strerror[1:]
        seen = seen.__cause__ or seen.__context__
    if isinstance(exc, (RuntimeError, OSError)):
        try:
            if shutil.disk_usage(folder).free == 0:
                return "no space left on device"
        except OSError:
            pass
        return "the file could not be written in full"
    return str(exc)


def save_checkpoint(path: Path, state_dict: dict, meta: dict) -> Path:
    """Write {"model": state_dict, "meta": meta} to `path` (parent folders created); return the path."""
    path = Path(path)
    if type(meta) is not dict:
        raise StoreError(f"checkpoint meta must be a dict, not {type(meta).__name__}")
    _check_meta(meta, "meta")
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Same folder as the target, so os.replace is a rename on one file system.
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            torch.save({"model": state_dict, "meta": meta}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
    except (OSError, pickle.PickleError, RuntimeError, TypeError, AttributeError) as exc:
        raise StoreError(f"cannot write the checkpoint {path}: {write_failure_reason(exc, path.parent)}") from exc
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return path


def load_checkpoint(path: Path | str, what: str = "TuneLab checkpoint") -> tuple[dict, dict]:
    """(state_dict, meta) from a file written by save_checkpoint, with every tensor on the CPU. `what` names the
    kind of file in messages."""
    path = Path(path)
    if not path.is_file():
        raise StoreError(f"there is no checkpoint file at {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        # PyTorch's own message suggests loading without weights_only: that would run whatever the file holds
        raise StoreError(
            f"{path} is not a {what} (or was made by an incompatible version): it holds objects "
            f"other than tensors and plain values, which TuneLab never loads"
        ) from None
    except OSError as exc:
        raise StoreError(f"the {what} {path} cannot be read: {exc.strerror or exc}") from None
    except Exception:  # torch raises many types for a damaged file; all mean "unusable"
        raise StoreError(
            f"the {what} {path} cannot be loaded: the file is damaged (cut short, or not a PyTorch file at all)"
        ) from None
    if not (
        isinstance(payload, dict) and isinstance(payload.get("model"), dict) and isinstance(payload.get("meta"), dict)
    ):
        raise StoreError(f"{path} is not a {what}: expected a 'model' state dict and 'meta'")
    return payload["model"], payload["meta"]
