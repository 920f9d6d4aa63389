"""Trials exported as TensorBoard event files and read back with TensorBoard's own event reader: the scalars per
epoch, and the hyperparameters and final metrics of the HParams view."""

from __future__ import annotations

from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from trainers.cli.main import main
from trainers.spec.config import RunConfig
from trainers.store import TrialStore
from trainers.trials.tensorboard_export import export_tensorboard

# (train_loss, train_acc, val_loss, val_acc, lr) per epoch
EPOCHS = [(2.0, 0.4, 1.9, 0.45, 0.01), (1.0, 0.7, 1.1, 0.68, 0.005), (0.5, 0.9, 0.8, 0.8, 0.001)]


def trained(store: TrialStore, lr: float, *, finish: bool = True) -> int:
    cfg = RunConfig().replace(**{"optim.lr": lr, "train.epochs": 3, "model.hidden_units": 64})
    trial_id = store.create_trial("train", cfg.to_dict(), dataset="digits", model="mlp", lr=lr)
    for epoch, (tl, ta, vl, va, rate) in enumerate(EPOCHS, start=1):
        store.add_epoch(
            trial_id,
            epoch,
            train_loss=tl,
            train_acc=ta,
            val_loss=vl,
            val_acc=va,
            lr=rate,
            seconds=0.25,
            samples_per_sec=None,
        )
    if finish:
        store.finish_trial(trial_id, "completed", best_epoch=3, best_val_acc=0.8, best_val_loss=0.8, test_acc=0.79)
    return trial_id


def read(run: Path) -> EventAccumulator:
    events = EventAccumulator(str(run))
    events.Reload()
    return events


def hparams_of(events: EventAccumulator) -> tuple[dict, list[str]]:
    """The session's hyperparameters as plain values, and the metric tags the experiment declares."""
    content = events.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"])
    values = {}
    for name, value in start.session_start_info.hparams.items():
        kind = value.WhichOneof("kind")
        values[name] = getattr(value, kind)
    metrics = [m.name.tag for m in experiment.experiment.metric_infos]
    return values, metrics


@pytest.fixture
def store(tmp_path: Path) -> TrialStore:
    with TrialStore(str(tmp_path / "trials.db")) as opened:
        yield opened


def test_scalars_and_hparams_read_back_with_tensorboards_reader(store: TrialStore, tmp_path: Path) -> None:
    first, second = trained(store, 0.01), trained(store, 0.003)
    runs = export_tensorboard(store, [first, second], tmp_path / "tb")
    assert runs == [tmp_path / "tb" / f"trial-{first}", tmp_path / "tb" / f"trial-{second}"]
    events = read(runs[0])
    scalars = events.Tags()["scalars"]
    for tag, column in (("train/loss", 0), ("train/accuracy", 1), ("val/loss", 2), ("val/accuracy", 3)):
        got = [(s.step, s.value) for s in events.Scalars(tag)]
        assert got == [(e, pytest.approx(row[column])) for e, row in enumerate(EPOCHS, start=1)], tag
    assert [s.value for s in events.Scalars("train/learning_rate")] == pytest.approx([0.01, 0.005, 0.001])
    assert "time/samples_per_second" not in scalars  # never recorded: no made-up zeros
    values, metrics = hparams_of(events)
    assert values["optim.lr"] == pytest.approx(0.01) and values["model.hidden_units"] == 64
    assert values["kind"] == "train" and values["status"] == "completed" and values["dataset"] == "digits"
    assert values["train.amp"] is False  # a flag stays a flag
    assert set(metrics) == {
        "hparam/best_val_acc",
        "hparam/best_val_loss",
        "hparam/test_acc",
        "hparam/epochs_run",
        "hparam/duration_s",
    }
    assert [s.value for s in events.Scalars("hparam/test_acc")] == [pytest.approx(0.79)]
    assert hparams_of(read(runs[1]))[0]["optim.lr"] == pytest.approx(0.003)


def test_exporting_again_replaces_the_run(store: TrialStore, tmp_path: Path) -> None:
    trial_id = trained(store, 0.01)
    export_tensorboard(store, [trial_id], tmp_path)
    (run,) = export_tensorboard(store, [trial_id], tmp_path)
    assert len(list(run.glob("events.out.tfevents*"))) == 1
    assert len(read(run).Scalars("val/loss")) == len(EPOCHS)


def test_tunelab_tensorboard_export_all_skips_running_trials(
    store: TrialStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    done, _running = trained(store, 0.01), trained(store, 0.02, finish=False)
    logdir = tmp_path / "tb"
    assert main(["tensorboard-export", "--all", "--logdir", str(logdir), "--store", store.url]) == 0
    assert sorted(p.name for p in logdir.iterdir()) == [f"trial-{done}"]
    assert capsys.readouterr().out.splitlines()[-1] == f"1 run written: tensorboard --logdir {logdir}"
    assert main(["tensorboard-export", "--logdir", str(logdir), "--store", store.url]) == 2
    assert "one or more trial ids, or --all" in capsys.readouterr().err
    assert main(["tensorboard-export", "7", "--logdir", str(logdir), "--store", store.url]) == 2
    assert capsys.readouterr().err.strip() == "tunelab: error: there is no trial 7 in the store"
