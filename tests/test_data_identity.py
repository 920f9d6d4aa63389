"""Which data a trial used: fields the chosen source does not read never tell two runs apart (saved config, config
key, ensembles, re-runs, older stores), and the dataset is named by its file or folder, searchable and filterable."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

import trainers.trials.reruns as reruns
from trainers.ensembles.stored_members import named_candidates, top_candidates
from trainers.spec.config import RunConfig, load_config, save_config
from trainers.spec.dataset_label import dataset_label
from trainers.spec.errors import ConfigError
from trainers.store import TrialQuery, TrialStore
from trainers.store.config_key import config_key

DIGITS = RunConfig()


def leftover_csv(cfg: RunConfig, csv: Path) -> RunConfig:
    """`cfg` after a CSV run and Source switched back to digits: the CSV's path and column are still set."""
    return cfg.replace(**{"data.path": str(csv), "data.target_column": "species"})


@pytest.fixture
def csv(tmp_path: Path) -> Path:
    path = tmp_path / "iris.csv"
    path.write_text("a,b,species\n1,2,x\n3,4,y\n")
    return path


def test_a_saved_config_holds_defaults_in_the_fields_its_source_does_not_read(csv: Path, tmp_path: Path) -> None:
    cfg = leftover_csv(DIGITS, csv)
    assert cfg.data.path == str(csv)  # the object keeps what was set: a later source change may need it
    saved = cfg.to_dict()
    assert saved["data"]["path"] == "" and saved["data"]["target_column"] == ""
    assert saved == DIGITS.to_dict()
    assert load_config(save_config(cfg, tmp_path / "c.toml")) == DIGITS
    on_csv = cfg.replace(**{"data.source": "csv"}).to_dict()["data"]
    assert on_csv["path"] == str(csv) and on_csv["target_column"] == "species"


def test_other_sections_follow_the_same_rule() -> None:
    adam = DIGITS.replace(**{"optim.momentum": 0.5, "model.cnn_channels": 8, "schedule.step_size": 3})
    assert adam.to_dict() == DIGITS.to_dict()
    sgd = adam.replace(**{"optim.name": "sgd"})
    assert sgd.to_dict()["optim"]["momentum"] == 0.5


def test_the_config_key_ignores_leftover_fields_also_in_configs_stored_before(csv: Path) -> None:
    raw = leftover_csv(DIGITS, csv).to_dict()
    raw["data"]["path"] = str(csv)  # as an earlier version stored it
    assert config_key(raw) == config_key(DIGITS.to_dict())
    assert config_key(DIGITS.replace(**{"optim.lr": 0.1}).to_dict()) != config_key(DIGITS.to_dict())


def stored(store: TrialStore, cfg: RunConfig | dict, *, acc: float, tmp_path: Path, seed: int = 0) -> int:
    """A finished training trial with a (stand-in) weights file."""
    raw = cfg.to_dict() if isinstance(cfg, RunConfig) else cfg
    source = raw["data"]["source"]
    tid = store.create_trial("train", raw, dataset=source, model="mlp", seed=seed)
    weights = tmp_path / f"w{tid}.pt"
    weights.write_bytes(b"x")
    store.finish_trial(tid, "completed", best_val_acc=acc, best_val_loss=1 - acc, checkpoint_best=str(weights))
    return tid


def old_style(cfg: RunConfig, csv: Path) -> dict:
    raw = cfg.to_dict()
    raw["data"].update(path=str(csv), target_column="species")  # an earlier version kept the leftovers
    return raw


def test_ensembles_accept_digits_trials_with_a_leftover_csv_path(csv: Path, tmp_path: Path) -> None:
    with TrialStore(str(tmp_path / "t.db")) as store:
        a = stored(store, DIGITS, acc=0.9, tmp_path=tmp_path)
        b = stored(store, old_style(DIGITS, csv), acc=0.8, tmp_path=tmp_path, seed=1)
        assert [c.trial.id for c in named_candidates(store, (a, b))] == [a, b]
        on_csv = stored(
            store, DIGITS.replace(**{"data.source": "csv", "data.path": str(csv)}), acc=1, tmp_path=tmp_path
        )
        with pytest.raises(ConfigError, match="different data"):
            named_candidates(store, (a, on_csv))


def make_old(db: Path, trial_ids: list[int]) -> None:
    """The store as the previous version left it: no label column, and keys that counted leftover fields."""
    con = sqlite3.connect(db)
    if "dataset_label" in {row[1] for row in con.execute("PRAGMA table_info(trials)")}:
        con.execute("DROP INDEX IF EXISTS ix_trials_dataset_label")
        con.execute("ALTER TABLE trials DROP COLUMN dataset_label")
    con.executemany("UPDATE trials SET config_key = ? WHERE id = ?", [(f"stale{i}", i) for i in trial_ids])
    con.commit()
    con.close()


def test_an_older_store_gets_dataset_labels_and_config_keys_that_group_old_and_new_trials(
    csv: Path, tmp_path: Path
) -> None:
    db = tmp_path / "old.db"
    on_csv = DIGITS.replace(**{"data.source": "csv", "data.path": str(csv)})
    with TrialStore(str(db)) as store:
        old = stored(store, old_style(DIGITS, csv), acc=0.9, tmp_path=tmp_path)
        old_csv = stored(store, on_csv, acc=1, tmp_path=tmp_path)
    make_old(db, [old])
    with TrialStore(str(db)) as store:
        new = stored(store, DIGITS, acc=0.8, tmp_path=tmp_path, seed=1)
        assert store.get_trial(old).config_key == store.get_trial(new).config_key
        assert store.get_trial(old).dataset_label == "digits"
        assert store.get_trial(old_csv).dataset_label == "csv: iris.csv"
        assert store.robust_table()[store.get_trial(new).config_key].n == 2


def test_reruns_count_the_seeds_of_old_trials_of_the_same_config(
    csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    planned: list[RunConfig] = []
    monkeypatch.setattr(reruns, "run_training", lambda cfg, **_kw: planned.append(cfg))
    db = tmp_path / "t.db"
    with TrialStore(str(db)) as store:
        old = stored(store, old_style(DIGITS, csv), acc=0.9, tmp_path=tmp_path, seed=0)
    make_old(db, [old])
    with TrialStore(str(db)) as store:
        stored(store, DIGITS, acc=0.8, tmp_path=tmp_path, seed=1)
        reruns.rerun_with_seeds(store, [old], 1)
    assert [cfg.train.seed for cfg in planned] == [2]
    assert planned[0].to_dict() == DIGITS.replace(**{"train.seed": 2}).to_dict()


@pytest.mark.parametrize(
    "data, label",
    [
        ({"source": "digits", "path": "/left/over.csv"}, "digits"),
        ({"source": "csv", "path": "/data/iris.csv"}, "csv: iris.csv"),
        ({"source": "image_folder", "path": "/photos/flowers/"}, "image_folder: flowers"),
        ({"source": "mnist", "path": "/datasets"}, "mnist"),
    ],
)
def test_the_dataset_label_names_the_file_or_folder(data: dict, label: str) -> None:
    assert dataset_label({"data": data}) == label


def test_trials_are_found_by_file_name_in_text_and_in_the_dataset_filter(csv: Path, tmp_path: Path) -> None:
    with TrialStore(str(tmp_path / "t.db")) as store:
        digits = stored(store, DIGITS, acc=0.9, tmp_path=tmp_path)
        iris = stored(store, DIGITS.replace(**{"data.source": "csv", "data.path": str(csv)}), acc=1, tmp_path=tmp_path)
        assert store.get_trial(iris).dataset_label == "csv: iris.csv"

        def ids(q: TrialQuery) -> set[int]:
            return {r.trial.id for r in store.query_trials(q)}

        assert ids(TrialQuery(text="iris")) == {iris}
        for value in ("iris.csv", "csv: iris.csv", "csv"):
            assert ids(TrialQuery(filters=(("dataset", value),))) == {iris}, value
        assert ids(TrialQuery(filters=(("dataset", "digits"),))) == {digits}
        assert ids(TrialQuery(filters=(("dataset_label", "digits"),))) == {digits}
        assert store.distinct_values("dataset_label") == ["csv: iris.csv", "digits"]


def test_top_k_ranks_within_the_dataset_of_the_most_recent_trial(csv: Path, tmp_path: Path) -> None:
    with TrialStore(str(tmp_path / "t.db")) as store:
        on_csv = DIGITS.replace(**{"data.source": "csv", "data.path": str(csv)})
        stored(store, on_csv, acc=1.0, tmp_path=tmp_path)  # a perfect score on a tiny table
        digits = [stored(store, DIGITS, acc=0.9 - i / 100, tmp_path=tmp_path, seed=i) for i in range(5)]
        top = top_candidates(store, 3, "val_acc")
        assert [c.trial.id for c in top] == digits[:3]
        assert top[0].label == f"#{digits[0]} · mlp · seed 0 · digits"  # the candidates list says which data
        stored(store, on_csv, acc=0.5, tmp_path=tmp_path)  # the latest run is on the table: its dataset now
        assert len(top_candidates(store, 3, "val_acc")) == 2


def test_tunelab_history_names_and_filters_by_the_file(csv: Path, tmp_path: Path, capsys) -> None:
    from trainers.cli.main import main

    url = str(tmp_path / "t.db")
    with TrialStore(url) as store:
        stored(store, DIGITS, acc=0.9, tmp_path=tmp_path)
        iris = stored(store, DIGITS.replace(**{"data.source": "csv", "data.path": str(csv)}), acc=1, tmp_path=tmp_path)
    assert main(["history", "--store", url, "--filter", "dataset=iris.csv", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(row["id"], row["dataset"]) for row in rows] == [(iris, "csv: iris.csv")]
