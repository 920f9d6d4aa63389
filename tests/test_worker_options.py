"""`tunelab worker --device / --max-trials / --idle-exit`: the device every trial of the worker runs on (stored with
the trial), how many trials it runs at most, and how long it waits with nothing to start."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from test_cli import last_json, tunelab

from trainers.cli.main import main
from trainers.jobs.device import device_label, pin_device, resolve_device, unpin_device
from trainers.search.storage import study_storage_url
from trainers.search.study import create_search, load_search
from trainers.spec.config import RunConfig
from trainers.spec.errors import ConfigError
from trainers.spec.search_settings import SearchSettings
from trainers.spec.search_space import SearchSpace
from trainers.store import TrialQuery, TrialStore
from trainers.trials.ranked_rows import history_rows

CFG = RunConfig().replace(
    **{
        "data.source": "digits",
        "data.train_fraction": 0.2,
        "train.epochs": 1,
        "train.checkpoints": False,
        "train.threads": 1,
        "model.hidden_units": 32,
    }
)
SETTINGS = SearchSettings().replace(**{"trials": 3, "lr_finder_seed": False, "pruner": "none"})


def _search(tmp_path: Path, trials: int = 3, store_made: bool = True) -> tuple[str, str, str]:
    """(store path, storage, study name) of a new search nobody has run yet (its store not made yet, when asked)."""
    db = str(tmp_path / "runs.db")
    if store_made:
        TrialStore(db).close()
    storage = study_storage_url(db)
    space = SearchSpace.from_dict({"lr": "log:1e-3:1e-1"}, CFG)
    search = create_search(storage, None, CFG, space, SETTINGS.replace(trials=trials), db)
    return db, storage, search.name


@pytest.mark.slow
def test_a_worker_pinned_to_the_cpu_runs_at_most_its_trials_there(tmp_path: Path) -> None:
    db, storage, name = _search(tmp_path)
    run = tunelab("worker", "--storage", storage, "--study", name, "--device", "cpu", "--max-trials", "1", "--quiet")
    assert run.returncode == 0, run.stderr
    out = last_json(run.stdout)
    assert out["trials_run"] == 1 and out["device"] == "cpu"
    with TrialStore(db) as store:
        (trial,) = store.list_trials(kind="train")
        assert trial.device == "cpu" and trial.status == "completed" and trial.host
        (row,) = history_rows(store, TrialQuery(filters=(("kind", "train"),)))  # `tunelab history --json`
        assert row["device"] == "cpu" and row["host"] == trial.host


@pytest.mark.slow
def test_a_worker_with_nothing_to_start_leaves_after_its_idle_time(tmp_path: Path) -> None:
    db, storage, name = _search(tmp_path, trials=1)
    load_search(storage, name).study.ask()  # the only trial of the budget is being run by another worker
    run = tunelab("worker", "--storage", storage, "--study", name, "--idle-exit", "0", "--grace", "600", "--quiet")
    assert run.returncode == 0, run.stderr
    assert last_json(run.stdout)["trials_run"] == 0


def test_worker_refuses_a_device_it_cannot_use(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    journal = str(tmp_path / "x.optuna.journal")
    for flags, field in (
        (["--device", "gpu7"], "--device"),
        (["--max-trials", "0"], "--max-trials"),
        (["--idle-exit", "-1"], "--idle-exit"),
    ):
        assert main(["worker", "--storage", journal, "--study", "search-1", *flags]) == 2
        assert field in capsys.readouterr().err


def test_a_pinned_device_wins_over_the_config_and_names_what_exists() -> None:
    try:
        assert resolve_device("auto").type in ("cpu", "cuda", "mps")
        assert pin_device("cpu") == torch.device("cpu")
        assert resolve_device("auto") == torch.device("cpu") and device_label(resolve_device("cuda")) == "cpu"
        with pytest.raises(ConfigError, match="cuda:99"):
            pin_device("cuda:99")
    finally:
        unpin_device()
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_worker_pinned_to_a_gpu_records_its_index() -> None:
    last = torch.cuda.device_count() - 1
    try:
        device = pin_device(f"cuda:{last}")
        assert device == torch.device("cuda", last) and device_label(resolve_device("auto")) == f"cuda:{last}"
        assert torch.cuda.current_device() == last
    finally:
        unpin_device()


@pytest.mark.slow
def test_search_workers_make_the_store_their_study_names_when_it_is_not_there_yet(tmp_path: Path) -> None:
    # workers started together on a fresh database: the first to open the store creates it (a queue worker, whose
    # --store is typed by hand, refuses instead: tests/test_run_queue.py)
    db, storage, name = _search(tmp_path, trials=1, store_made=False)
    assert not Path(db).exists()
    assert main(["worker", "--storage", storage, "--study", name, "--quiet"]) == 0
    with TrialStore.open_existing(db, read_only=True) as store:
        assert [t.status for t in store.list_trials(kind="train")] == ["completed"]
