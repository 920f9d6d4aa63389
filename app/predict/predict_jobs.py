"""The Predict tab's engine calls. The prediction is an EngineJob run by the window's JobRunner (off the GUI thread);
trainers.api is imported inside the work, in the worker thread."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.job_runner import EngineJob
from trainers.spec.events import RunControl, Sink


def predict_job(
    inputs: list[str], *, trial_id: int | None = None, ensemble_file: str | None = None, store_url: str | None = None
) -> EngineJob:
    """Predict every input (one CSV file, one folder, or image files) with a stored trial or an ensemble file;
    returns a trainers.spec.predictions.PredictionTable."""

    def job(sink: Sink, control: RunControl) -> Any:
        from trainers.api import TrialStore, predict

        given: str | list[str] = inputs[0] if len(inputs) == 1 else list(inputs)
        if ensemble_file is not None:
            return predict(None, given, ensemble_file=ensemble_file)
        with TrialStore.open_existing(store_url, read_only=True) as store:
            return predict(store, given, trial_id=trial_id)

    return EngineJob(job, "A prediction", "Predict")


# Run on the Predict tab's reader thread once the engine is imported, as the other tabs' lists of stored jobs.
def stored_models(store_url: str | None = None) -> list[tuple[int, str]]:
    """(trial id, one-line label) of the stored trials that can predict, newest first."""
    from trainers.api import TrialStore, predict_choices

    with TrialStore(store_url) as store:
        return predict_choices(store)


def write_predictions(table: Any, path: str | Path) -> Path:
    """The shown predictions as a CSV file; a path that cannot be written is a DataError."""
    return Path(table.write_csv(path))
