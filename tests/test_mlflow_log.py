"""Finished trials logged to a real MLflow database (SQLite) and read back with MLflow's own client; and the one-line
message when MLflow is not installed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from test_tensorboard_export import EPOCHS, trained

from trainers.cli.main import main
from trainers.spec.errors import ConfigError
from trainers.store import TrialStore
from trainers.trials.mlflow_log import log_to_mlflow


@pytest.fixture
def store(tmp_path: Path) -> TrialStore:
    with TrialStore(str(tmp_path / "trials.db")) as opened:
        yield opened


@pytest.mark.slow  # MLflow creates its database schema (tens of migrations) on first use
def test_finished_trials_become_mlflow_runs_once(store: TrialStore, tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    done, running = trained(store, 0.01), trained(store, 0.02, finish=False)
    store.set_notes(done, "baseline")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    (logged,) = log_to_mlflow(store, None, uri, "digits runs")
    assert logged.trial_id == done and logged.new
    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(logged.run_id)
    assert run.info.status == "FINISHED" and run.data.tags["tunelab.trial_id"] == str(done)
    assert run.data.tags["mlflow.note.content"] == "baseline"
    assert run.data.params["optim.lr"] == "0.01" and run.data.params["model.hidden_units"] == "64"
    history = client.get_metric_history(logged.run_id, "val_loss")
    assert [(m.step, m.value) for m in history] == [(e, row[2]) for e, row in enumerate(EPOCHS, start=1)]
    assert run.data.metrics["test_acc"] == pytest.approx(0.79)
    # again, with the running trial finished meanwhile: only it is new
    store.finish_trial(running, "stopped")
    again = log_to_mlflow(store, None, uri, "digits runs")
    assert [(x.trial_id, x.new) for x in again] == [(done, False), (running, True)]
    assert client.get_run(again[1].run_id).info.status == "KILLED"
    experiment = client.get_experiment_by_name("digits runs")
    assert len(client.search_runs([experiment.experiment_id])) == 2


def test_without_mlflow_the_command_says_how_to_install_it(
    store: TrialStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    trial_id = trained(store, 0.01)
    for name in [m for m in sys.modules if m == "mlflow" or m.startswith("mlflow.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "mlflow", None)  # what an environment without the package imports
    with pytest.raises(ConfigError, match=r"pip install 'tunelab\[mlflow\]'"):
        log_to_mlflow(store, [trial_id], f"sqlite:///{tmp_path / 'm.db'}")
    uri = ["--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}", "--store", store.url]
    assert main(["mlflow-log", str(trial_id), *uri]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tunelab: error: tracking = 'mlflow' is invalid: MLflow is not installed") and "\n" not in err
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert main(["mlflow-log", "--all", "--store", store.url]) == 2
    assert "--tracking-uri" in capsys.readouterr().err
