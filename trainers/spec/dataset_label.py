"""The name a trial's data goes by in tables, searches and "rank within one dataset": the source, plus the file or
folder for sources read from a path the user chose ("csv: iris.csv", "image_folder: flowers", "digits")."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any, Mapping

# Sources whose data is whatever file or folder data.path names (a torchvision root holds the same set anywhere).
NAMED_BY_PATH = ("csv", "image_folder")
SEPARATOR = ": "


def dataset_label(config: Mapping[str, Any]) -> str:
    """The label of a config dict's data (RunConfig.to_dict's shape, or a stored trial's config); "" when it names
    no source."""
    data = config.get("data")
    if not isinstance(data, Mapping):
        return ""
    source = data.get("source")
    if not isinstance(source, str):
        return ""
    path = data.get("path")
    if source in NAMED_BY_PATH and isinstance(path, str) and path.strip():
        name = PurePath(path.strip().rstrip("/\\")).name or path.strip()
        return f"{source}{SEPARATOR}{name}"
    return source
