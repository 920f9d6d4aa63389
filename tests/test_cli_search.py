"""`tunelab search` and `tunelab worker` as a user runs them: flags and a search file, progress on stderr, the JSON
line on stdout, refusals before any trial exists, and the searches in `tunelab history`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli import last_json, tunelab

from trainers.cli.main import build_parser, main
from trainers.cli.search import search_from_args
from trainers.store import TrialStore

TINY = ["--dataset", "digits", "--train-fraction", "0.2", "--epochs", "2", "--train.checkpoints", "false"]
TINY += ["--train.threads", "1", "--model.hidden_units", "64"]


@pytest.mark.slow
def test_search_prints_a_line_per_trial_and_ends_with_one_json_object(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    run = tunelab(
        "search", *TINY, "--search.lr", "log:1e-4:1e-1", "--search.batch_size", "choice:32,64",
        "--trials", "3", "--sampler", "random", "--pruner", "none", "--seed", "4", "--lr-finder-seed", "false",
        "--json", "--store", db,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert len(run.stdout.strip().splitlines()) == 1  # --json: the JSON line alone
    out = last_json(run.stdout)
    assert set(out) >= {"search_id", "best_trial_id", "best_value", "best_params", "counts", "seconds", "storage"}
    assert out["counts"] == {"complete": 3, "pruned": 0, "failed": 0, "stopped": 0} and out["study"] == "search-1"
    assert out["storage"] == str(tmp_path / "t.optuna.journal") and Path(out["storage"]).is_file()
    assert set(out["best_params"]) == {"optim.lr", "train.batch_size"}
    trial_lines = [line for line in run.stderr.splitlines() if line.startswith("trial ")]
    assert len(trial_lines) == 3 and all(" complete: " in line for line in trial_lines)
    hist = json.loads(tunelab("history", "--json", "--kind", "search", "--store", db).stdout)
    assert [r["id"] for r in hist] == [out["search_id"]] and hist[0]["best_val_acc"] == pytest.approx(out["best_value"])
    with TrialStore(db) as store:
        search = store.get_trial(out["search_id"])
        assert search.extra["search"]["settings"]["seed"] == 4  # --seed is the sampler's
        assert all(t.config["train"]["seed"] == 0 for t in store.list_trials(kind="train"))


@pytest.mark.slow
def test_a_search_file_gives_base_config_space_and_settings_and_flags_go_on_top(tmp_path: Path) -> None:
    space_file = tmp_path / "space.toml"
    space_file.write_text(
        '[data]\nsource = "digits"\ntrain_fraction = 0.2\n[model]\nhidden_units = 32\n'
        "[train]\nepochs = 2\ncheckpoints = false\nthreads = 1\n"
        '[search]\nlr = "log:1e-4:1e-1"\n'
        '[search_run]\ntrials = 5\nsampler = "random"\npruner = "none"\nlr_finder_seed = false\n',
        encoding="utf-8",
    )
    db = str(tmp_path / "t.db")
    run = tunelab(
        "search", "--space", str(space_file), "--trials", "2", "--search.dropout", "float:0:0.3",
        "--epochs-per-trial", "1", "--store", db,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    out = last_json(run.stdout)
    assert "best:" in run.stdout  # without --json a short report comes first
    assert sum(out["counts"].values()) == 2  # --trials over the file's 5
    with TrialStore(db) as store:
        plan = store.get_trial(out["search_id"]).extra["search"]
        train = store.list_trials(kind="train")
    assert plan["space"] == {"model.dropout": "float:0:0.3", "optim.lr": "log:0.0001:0.1"}
    assert plan["sampler"] == "random" and plan["budget"]["epochs"] == 1
    assert all(t.config["model"]["hidden_units"] == 32 and t.epochs_run == 1 for t in train)


def test_a_bad_space_is_refused_in_one_line_before_any_trial(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    db = str(tmp_path / "t.db")
    assert main(["search", *TINY, "--search.lr", "log:0:1", "--store", db]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tunelab: error: search.optim.lr") and len(err.strip().splitlines()) == 1
    assert main(["search", *TINY, "--store", db]) == 2
    assert "--search.lr log:1e-5:1e-1" in capsys.readouterr().err  # no space: says how to give one
    assert main(["search", *TINY, "--search.lr", "log:1e-4:1", "--sampler", "grid", "--store", db]) == 2
    assert "search_run.sampler" in capsys.readouterr().err
    assert main(["search", *TINY, "--search.train.seed", "int:0:3", "--store", db]) == 2
    assert "search.train.seed" in capsys.readouterr().err
    assert not Path(db).exists()


def test_seed_is_the_samplers_and_search_flags_take_dotted_or_short_names() -> None:
    args = build_parser().parse_args(
        [
            "search",
            "--train.seed",
            "3",
            "--seed",
            "5",
            "--search.lr",
            "log:1e-4:1e-2",
            "--search.optim.name",
            "choice:adam,sgd",
        ]
    )
    cfg, space, settings = search_from_args(args)
    assert cfg.train.seed == 3 and settings.seed == 5
    assert space.to_dict() == {"optim.name": "choice:adam,sgd", "optim.lr": "log:0.0001:0.01"}
    args = build_parser().parse_args(
        ["search", "--search.lr", "log:1e-4:1e-2", "--search.lr", "fixed", "--search.dropout", "float:0:0.5"]
    )
    assert search_from_args(args)[1].fields == ("model.dropout",)  # the later flag for a field wins


def test_worker_refuses_bad_flags_and_a_missing_study(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    journal = str(tmp_path / "t.optuna.journal")
    assert main(["worker", "--storage", journal, "--study", "search-1", "--worker-index", "-1"]) == 2
    assert "--worker-index" in capsys.readouterr().err
    assert main(["worker", "--storage", journal, "--study", "search-1"]) == 2
    assert "no Optuna journal" in capsys.readouterr().err


@pytest.mark.slow
def test_history_lists_pruned_trials_with_status_and_filter(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    with TrialStore(db) as store:
        kept = store.create_trial("train", {}, dataset="digits")
        store.add_epoch(
            kept, 1, train_loss=1.0, train_acc=0.5, val_loss=1.0, val_acc=0.5, lr=0.01, seconds=1.0, samples_per_sec=1.0
        )
        store.finish_trial(kept, "pruned", message="pruned at epoch 1 by the median pruner")
        done = store.create_trial("train", {}, dataset="digits")
        store.finish_trial(done, "completed")
    for flags in (["--status", "pruned"], ["--filter", "status=pruned"]):
        rows = json.loads(tunelab("history", "--json", *flags, "--store", db).stdout)
        assert [(r["id"], r["status"], r["epochs_run"]) for r in rows] == [(kept, "pruned", 1)]
