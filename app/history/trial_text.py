"""Words and text the History tab shows about trials (no Qt)."""

from __future__ import annotations

from typing import Any, Sequence

import tomli_w

from app.history.columns import KIND_WORDS, format_duration
from trainers.spec.config import RunConfig, config_to_toml
from trainers.spec.errors import ConfigError


def id_list(ids: Sequence[int], limit: int = 8) -> str:
    """ "trial 3", "trials 3 and 5", "trials 3, 5, 7 and 9 more"."""
    shown = [f"{i}" for i in ids[:limit]]
    if len(ids) == 1:
        return f"trial {shown[0]}"
    rest = len(ids) - len(shown)
    if rest:
        return f"trials {', '.join(shown)} and {rest} more"
    return f"trials {', '.join(shown[:-1])} and {shown[-1]}"


def run_config(trial: Any) -> RunConfig:
    """The trial's config, validated; ConfigError (naming the field) when it no longer validates here."""
    try:
        return RunConfig.from_dict(trial.config)
    except ConfigError as err:
        raise ConfigError(err.field, err.value, f"{err.allowed} (in the config of trial {trial.id})") from None


def config_toml(trial: Any) -> str:
    """The trial's config as TOML, the format of `tunelab train --config`; the stored text when it no longer
    validates (e.g. its CSV file moved), so it can still be read and fixed."""
    try:
        return config_to_toml(RunConfig.from_dict(trial.config))
    except ConfigError:
        return tomli_w.dumps(trial.config)


def headline(trial: Any) -> str:
    """One line over the detail pane: which trial, how it ended, the numbers of the weights it kept."""
    parts = [
        f"Trial {trial.id} ({KIND_WORDS.get(trial.kind, trial.kind)}) {trial.status}",
        f"{trial.epochs_run} of {trial.epochs_planned or '?'} epochs",
    ]
    if trial.best_val_acc is not None:
        parts.append(kept_text(trial))
    if trial.test_acc is not None:
        parts.append(f"test accuracy {trial.test_acc:.4f}")
    if trial.duration_s is not None:
        parts.append(format_duration(trial.duration_s))
    text = ", ".join(parts)
    return f"{text}. {trial.message}" if trial.message else text


def kept_text(trial: Any) -> str:
    """The kept epoch's validation accuracy (its weights are saved and scored on the test split), and the peak of
    any epoch when that was higher."""
    text = f"validation accuracy {trial.best_val_acc:.4f} at epoch {trial.best_epoch} (the kept weights"
    peak = (getattr(trial, "extra", None) or {}).get("peak_val_acc")
    if isinstance(peak, (int, float)) and peak > trial.best_val_acc:
        text += f"; peak {peak:.4f}"
    return text + ")"


def rerun_summary(results: Sequence[Any], trial_ids: Sequence[int], seeds: int) -> tuple[str, str]:
    """The line after a re-run, and its style."""
    if not results:
        return f"No re-run of {id_list(trial_ids)} finished.", "warn"
    done = sum(1 for r in results if r.status == "completed")
    text = (
        f"Re-ran {id_list(trial_ids)} with {seeds} new seed{'s' if seeds != 1 else ''} each: "
        f"{len(results)} run{'s' if len(results) != 1 else ''}, {done} completed "
        f"(trials {', '.join(str(r.trial_id) for r in results)}). The Robust column ranks each config by "
        f"mean ± standard deviation over its seeds."
    )
    return text, "ok" if done == len(results) else "warn"
