"""A fingerprint of what a config trains, so repeats of one config with other seeds can be grouped."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from trainers.spec.config import normalised_dict

# Fields that change how or where a run happens, not what it learns: repeats may differ in them.
NOT_PART_OF_THE_EXPERIMENT = (
    ("train", "seed"),
    ("train", "threads"),
    ("train", "device"),
    ("train", "checkpoints"),
    ("data", "num_workers"),
)


def config_key(config: dict[str, Any]) -> str:
    """The same for two configs that differ only in seed, threads, device, checkpoints or workers, or in fields
    their choices do not read (a CSV path left in a digits config, SGD's momentum under Adam)."""
    kept = normalised_dict(config)
    for section, name in NOT_PART_OF_THE_EXPERIMENT:
        if isinstance(kept.get(section), dict):
            kept[section].pop(name, None)
    text = json.dumps(kept, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]
