"""A shareable report of a stored trial: one self-contained HTML file (its style and charts inline, nothing fetched)
for a training run, an ensemble or a search.

    write_report(store, trial_id, "report.html")

A training run shows its summary, config, curves, diagnosis, evaluation (when one is stored), epochs and the
environment it ran in; an ensemble its members and their scores; a search its trials, best trial, optimisation
history and parameter importance."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any, Callable

from trainers.diagnosis.diagnose import diagnose_record
from trainers.ensembles.stored_ensembles import load_ensemble_result
from trainers.jobs.device import resolve_device
from trainers.jobs.environment import run_environment
from trainers.spec.errors import StoreError, TuneLabError
from trainers.spec.version import VERSION
from trainers.store import TrialStore
from trainers.store.records import TrialRecord
from trainers.use.report_ensemble import ensemble_facts, members_section
from trainers.use.report_evaluation import evaluation_section
from trainers.use.report_html import page, section
from trainers.use.report_search import (
    history_section,
    importance_section,
    result_section,
    stored_importance,
    trials_section,
)
from trainers.use.report_thumbnails import thumbnails_or_note
from trainers.use.report_training import (
    config_section,
    curves_section,
    diagnosis_section,
    environment_section,
    epochs_section,
    summary_section,
)

SUFFIX = ".html"
TITLES = {"train": "Training run", "ensemble": "Ensemble", "search": "Search", "lr_test": "LR finder run"}


def _training(store: TrialStore, trial: TrialRecord) -> list[str]:
    epochs = store.epochs(trial.id)
    diagnosis, why = None, "Only a finished run is diagnosed."
    if not trial.running:
        try:
            diagnosis = diagnose_record(trial, epochs, store)
        except TuneLabError as exc:
            why = f"No diagnosis: {exc}"
    return [
        summary_section(trial),
        curves_section(epochs, trial.best_epoch),
        diagnosis_section(diagnosis, why),
        evaluation_section(trial.extra.get("evaluation"), *thumbnails_or_note(trial)),
        config_section(trial.config),
        epochs_section(epochs),
    ]


def _ensemble(store: TrialStore, trial: TrialRecord) -> list[str]:
    result = load_ensemble_result(store, trial.id)
    settings = trial.extra.get("ensemble", {}).get("settings") or {}
    return [
        summary_section(trial),
        members_section(result),
        section("ensemble", "Ensemble", ensemble_facts(result)),
        config_section(settings, "Ensemble settings"),
        evaluation_section(trial.extra.get("evaluation"), *thumbnails_or_note(trial)),
        config_section(trial.config, "Configuration of trained members") if trial.config else "",
    ]


def _search(store: TrialStore, trial: TrialRecord) -> list[str]:
    from trainers.search.importance import param_importance
    from trainers.search.stored import load_search_result, search_trial_events

    result = load_search_result(store, trial.id)
    parts = [result_section(result)]
    try:
        events = search_trial_events(store, trial.id)
    except TuneLabError as exc:  # the study beside the store is gone: the kept result is all there is
        parts.append(section("trials", "Trials", f'<p class="note">Trials not available: {escape(str(exc))}</p>'))
        events = []
    else:
        parts += [history_section(events, result.monitor), trials_section(events, result.best_number)]
    importances, why = stored_importance(trial.extra), ""
    if importances is None and events:
        try:
            importances = param_importance(store, trial.id)
        except TuneLabError as exc:
            why = str(exc)
    parts.append(importance_section(importances, why))
    plan = trial.extra.get("search", {})
    parts += [config_section(plan.get("space") or {}, "Search space"), config_section(trial.config)]
    return parts


def _generic(store: TrialStore, trial: TrialRecord) -> list[str]:
    epochs = store.epochs(trial.id)
    body = [summary_section(trial), config_section(trial.config)]
    return body + ([curves_section(epochs, trial.best_epoch), epochs_section(epochs)] if epochs else [])


BUILDERS: dict[str, Callable[[TrialStore, TrialRecord], list[str]]] = {
    "train": _training,
    "ensemble": _ensemble,
    "search": _search,
}


def report_html(store: TrialStore, trial_id: int, here: dict[str, Any] | None = None) -> str:
    """The report of trial `trial_id` as one HTML document. `here`: the environment the report is made in (by
    default this process's)."""
    trial = store.get_trial(trial_id)
    sections = BUILDERS.get(trial.kind, _generic)(store, trial)
    sections.append(environment_section(trial, here if here is not None else run_environment(resolve_device("auto"))))
    kind = TITLES.get(trial.kind, trial.kind)
    title = f"TuneLab report: {kind.lower()} {trial.id}" + (f" ({trial.name})" if trial.name else "")
    subtitle = " · ".join(x for x in (trial.dataset_label or trial.dataset, trial.model, trial.status) if x)
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return page(title, subtitle, [s for s in sections if s], f"Made by TuneLab {VERSION} on {made}.")


def write_report(store: TrialStore, trial_id: int, path: str | os.PathLike[str]) -> Path:
    """Write the report of trial `trial_id` to `path` (".html" is added when it has no suffix); returns the path.
    The file is replaced whole, so a reader never sees half a report."""
    text = report_html(store, trial_id)
    target = Path(path).expanduser()
    if not target.suffix:
        target = target.with_suffix(SUFFIX)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".report-", suffix=SUFFIX, dir=target.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, 0o644)  # readable as any written file (a temporary file starts private)
        os.replace(tmp, target)
    except OSError as exc:
        raise StoreError(f"cannot write the report to {target}: {exc.strerror or exc}") from None
    return target
