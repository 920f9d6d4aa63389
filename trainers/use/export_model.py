"""The one export entry point for a stored trial: a training run's network, or a stored ensemble's members and
combination, written to one checked folder (see trainers/use/export_trial.py for what the folder holds)."""

from __future__ import annotations

from pathlib import Path

from trainers.spec.errors import ExportError
from trainers.store import TrialStore
from trainers.use.export_ensemble import export_ensemble_trial
from trainers.use.export_trial import ExportResult, export_trial


def export_model(store: TrialStore, trial_id: int, out_dir: Path | str) -> ExportResult:
    """Export trial `trial_id` (a training run or an ensemble) to `out_dir`, a new or empty folder."""
    trial = store.get_trial(trial_id)
    if trial.running:
        raise ExportError(f"trial {trial_id} is still running: export it once it has ended")
    if trial.kind == "ensemble":
        return export_ensemble_trial(store, trial_id, out_dir)
    return export_trial(store, trial_id, out_dir)
