"""How a form names what is wrong with a field: by its label, with the value as typed now and what is allowed,
and a word on the decimal comma ("0,001"), which the number parser reads as no number at all."""

from __future__ import annotations

from typing import Any

from trainers.spec.errors import ConfigError

COMMA_HINT = "write decimals with a point (0.001), not a comma"


def comma_hint(value: Any) -> str:
    """The hint when `value` is a number written with a decimal comma; "" otherwise."""
    if not isinstance(value, str) or "," not in value:
        return ""
    try:
        float(value.strip().replace(",", "."))
    except ValueError:
        return ""
    return COMMA_HINT


def problem_line(label: str, exc: ConfigError) -> str:
    """ "Learning rate: '-' is not allowed; must be a number in (0, 100]" (label, not the config key)."""
    hint = comma_hint(exc.value)
    value = exc.value if isinstance(exc.value, str) else repr(exc.value)
    shown = f"'{value}'" if isinstance(exc.value, str) else value
    return f"{label}: {shown} is not allowed; must be {exc.allowed}" + (f" ({hint})" if hint else "")
