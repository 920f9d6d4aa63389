"""Whole-config checks for the form: which fields break which rules, and the short reason shown."""

from __future__ import annotations

from typing import Any

from trainers.spec.config import SECTIONS, RunConfig, validate_section
from trainers.spec.errors import ConfigError


def check_rules(values: dict[str, Any]) -> tuple[RunConfig | None, dict[str, ConfigError]]:
    """Validate field values that each passed check_value: every section's own rules (so several sections
    can be marked at once), then the whole config, including the rules across sections and the files."""
    raw: dict[str, dict[str, Any]] = {section: {} for section in SECTIONS}
    for key, value in values.items():
        section, _, name = key.partition(".")
        raw[section][name] = value
    errors: dict[str, ConfigError] = {}
    for section, cls in SECTIONS.items():
        try:
            validate_section(section, cls(**raw[section]))
        except ConfigError as exc:
            errors[exc.field] = exc
    if errors:
        return None, errors
    try:
        return RunConfig.from_dict(raw), {}
    except ConfigError as exc:
        return None, {exc.field: exc}


def reason_text(exc: ConfigError) -> str:
    """The short reason shown under a field (its label already says which field it is)."""
    return f"Must be {exc.allowed}"
