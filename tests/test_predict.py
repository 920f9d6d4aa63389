"""`tunelab predict` and the engine behind it: raw test rows of a CSV-trained model, and of an ensemble file written
by `tunelab ensemble`, give back the stored test accuracy exactly; bad input is one line naming the column or file,
and nothing else is affected."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from trainers.cli.main import main
from trainers.data.bundle import as_int_labels
from trainers.data.common import split_indices
from trainers.data.digits import read_digits
from trainers.spec.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from trainers.spec.errors import DataError
from trainers.store import TrialStore
from trainers.training.checkpoints import load_checkpoint, save_checkpoint
from trainers.training.run import run_training
from trainers.use.predict import predict

HEADER = ["height", "colour", "weight", "species"]
COLOURS = ["red", "green", "blue"]


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _animals(n: int = 150) -> list[list[str]]:
    """Three species told apart by height and colour, with noise, so a tiny model gets some wrong."""
    rng = np.random.default_rng(4)
    out = []
    for i in range(n):
        k = i % 3
        colour = COLOURS[k] if rng.random() < 0.6 else COLOURS[int(rng.integers(3))]
        out.append(
            [f"{10 + 2 * k + rng.normal() * 2:.3f}", colour, f"{50 + rng.normal() * 10:.2f}", "cat dog eel".split()[k]]
        )
    return out


def _cfg(data: DataConfig, seed: int = 0, epochs: int = 2) -> RunConfig:
    return RunConfig(
        data=data,
        model=ModelConfig(family="mlp", hidden_layers=1, hidden_units=16),
        train=TrainConfig(epochs=epochs, batch_size=16, seed=seed, threads=1, device="cpu"),
    )


@pytest.fixture(scope="module")
def csv_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[int]]:
    """A store with two MLPs trained on a CSV with a categorical column, and that CSV's raw test rows."""
    root = tmp_path_factory.mktemp("predict")
    rows = _animals()
    path = _write(root / "animals.csv", HEADER, rows)
    data = DataConfig(source="csv", path=str(path), split_seed=1, test_split=0.3)
    with TrialStore(str(root / "t.db")) as store:
        ids = [run_training(_cfg(data, seed), store=store).trial_id for seed in (0, 1)]
    labels, _ = as_int_labels([r[-1] for r in rows])
    _, _, te = split_indices(labels, val_split=0.15, test_split=0.3, seed=1, train_fraction=1.0, where="t")
    _write(root / "test_rows.csv", HEADER, [rows[i] for i in te])
    return root / "t.db", root / "test_rows.csv", ids


def _predict_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    code = main(["predict", *args, "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def test_predict_raw_test_rows_reproduces_the_stored_test_accuracy(
    csv_store: tuple[Path, Path, list[int]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db, test_rows, ids = csv_store
    with TrialStore(str(db), read_only=True) as store:
        trial = store.get_trial(ids[0])
        assert trial.extra["preprocessing"]["kind"] == "table"  # kept with the trial when its data loaded
    assert trial.test_acc is not None and 0 < trial.test_acc < 1  # some right, some wrong: a real check
    out = _predict_json(
        capsys, "--trial", str(ids[0]), "--input", str(test_rows), "--store", str(db), "-o", str(tmp_path / "p.csv")
    )
    assert out["accuracy"] == trial.test_acc  # exactly
    assert out["predicted"] == len(out["rows"]) == 45 and out["failed"] == 0
    first = out["rows"][0]
    assert first["id"] == "1" and first["label"] in ("cat", "dog", "eel") and len(first["top"]) == 3
    assert first["top"][0]["probability"] == first["probability"] >= first["top"][1]["probability"]
    with open(tmp_path / "p.csv", newline="") as fh:
        written = list(csv.DictReader(fh))
    assert len(written) == 45 and written[0]["predicted"] == first["label"] and written[0]["truth"] == first["truth"]


@pytest.mark.slow
def test_an_ensemble_file_reproduces_its_test_accuracy_and_old_files_still_work(
    csv_store: tuple[Path, Path, list[int]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db, test_rows, _ = csv_store
    file = tmp_path / "pair.tlens"
    code = main(
        [
            "ensemble",
            "--method",
            "soft-vote",
            "--top",
            "2",
            "--store",
            str(db),
            "--quiet",
            "--json",
            "--export",
            str(file),
        ]
    )
    made = json.loads(capsys.readouterr().out)
    assert code == 0 and Path(made["exported"]) == file
    stored_acc = made["ensemble"]["test_acc"]
    out = _predict_json(capsys, "--ensemble", str(file), "--input", str(test_rows))
    assert out["accuracy"] == stored_acc and out["model"] == "pair.tlens"
    # the stored ensemble trial predicts the same
    by_trial = _predict_json(capsys, "--trial", str(made["trial_id"]), "--input", str(test_rows), "--store", str(db))
    assert [r["label"] for r in by_trial["rows"]] == [r["label"] for r in out["rows"]]
    # a file written before ensembles kept their preprocessing: worked out again from its data config
    states, meta = load_checkpoint(file)
    assert meta.pop("preprocessing")["kind"] == "table"
    save_checkpoint(tmp_path / "old.tlens", states, meta)
    old = _predict_json(capsys, "--ensemble", str(tmp_path / "old.tlens"), "--input", str(test_rows))
    assert [r["label"] for r in old["rows"]] == [r["label"] for r in out["rows"]]


def test_bad_csv_input_is_one_line_naming_the_column(
    csv_store: tuple[Path, Path, list[int]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db, _, ids = csv_store
    args = ["predict", "--trial", str(ids[0]), "--store", str(db), "--input"]
    missing = _write(tmp_path / "missing.csv", ["height", "colour"], [["10", "red"]])
    assert main([*args, str(missing)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "missing column(s) 'weight'" in err and "missing.csv" in err
    extra = _write(tmp_path / "extra.csv", [*HEADER, "age"], [["10", "red", "50", "cat", "3"]])
    assert main([*args, str(extra)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "column(s) 'age' are not features" in err
    # an unseen category spoils its own row only
    mixed = _write(
        tmp_path / "mixed.csv", HEADER[:3], [["10", "red", "50"], ["11", "purple", "49"], ["12", "blue", "51"]]
    )
    assert main([*args, str(mixed), "--json"]) == 1
    out = capsys.readouterr()
    rows = json.loads(out.out)["rows"]
    assert [("error" in r) for r in rows] == [False, True, False]
    assert "row 2 (line 3), column 'colour': 'purple' was not seen in training" in rows[1]["error"]
    assert out.err.count("\n") == 1 and "purple" in out.err
    with TrialStore(str(db), read_only=True) as store:
        with pytest.raises(DataError, match=r"the model reads CSV rows"):
            predict(store, tmp_path, trial_id=ids[0])


@pytest.fixture(scope="module")
def digits_trial(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    db = tmp_path_factory.mktemp("digits") / "t.db"
    with TrialStore(str(db)) as store:
        trial_id = run_training(_cfg(DataConfig(source="digits"), epochs=1), store=store).trial_id
    return db, trial_id


def test_a_folder_of_images_reports_bad_files_and_predicts_the_rest(
    digits_trial: tuple[Path, int], tmp_path: Path
) -> None:
    db, trial_id = digits_trial
    folder = tmp_path / "new"
    folder.mkdir()
    pixels, labels = read_digits()
    for i in range(6):  # real digits as 8-bit PNGs, in class folders (their true class)
        img = (pixels[i].reshape(8, 8) * 255 / 16).round().astype(np.uint8)
        (folder / str(labels[i])).mkdir(exist_ok=True)
        Image.fromarray(img).save(folder / str(labels[i]) / f"d{i}.png")
    Image.new("L", (28, 28)).save(folder / "big.png")
    Image.new("RGB", (8, 8)).save(folder / "colour.png")
    (folder / "notes.txt").write_text("hello")
    with TrialStore(str(db), read_only=True) as store:
        table = predict(store, folder, trial_id=trial_id)
    by_id = {r.id: r for r in table.rows}
    assert len(table.rows) == 9 and table.predicted == 6
    assert "28x28 pixels, but the model takes 8x8" in by_id["big.png"].error
    assert "a colour image" in by_id["colour.png"].error and "grayscale" in by_id["colour.png"].error
    assert "notes.txt: not an image" in by_id["notes.txt"].error
    assert all("\n" not in e for e in table.errors)
    assert table.accuracy is not None and sum(1 for r in table.rows if r.truth) == 6
    with TrialStore(str(db), read_only=True) as store:
        single = predict(store, next(folder.rglob("d0.png")), trial_id=trial_id)
        assert len(single.rows) == 1 and single.rows[0].id == "d0.png" and not single.rows[0].error
        with pytest.raises(DataError, match="the model reads images"):
            predict(store, _write(tmp_path / "t.csv", ["a"], [["1"]]), trial_id=trial_id)


def test_a_trial_stored_before_gets_its_preprocessing_from_its_config(csv_store: tuple[Path, Path, list[int]]) -> None:
    from trainers.use.preprocessing import preprocessing_for_trial

    db, _, ids = csv_store
    with TrialStore(str(db)) as store:
        kept = store.get_trial(ids[1]).extra["preprocessing"]
        store.update_trial(ids[1], extra={"preprocessing": None})  # as a trial stored before it was kept
        again = preprocessing_for_trial(store, ids[1])
        assert again.to_json() == kept
        assert store.get_trial(ids[1]).extra["preprocessing"] == kept  # stored now, so worked out once


def test_the_plain_output_lists_each_row_and_the_accuracy(
    csv_store: tuple[Path, Path, list[int]], capsys: pytest.CaptureFixture[str]
) -> None:
    db, test_rows, ids = csv_store
    assert main(["predict", "--trial", str(ids[0]), "--input", str(test_rows), "--store", str(db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["id", "predicted", "prob", "top", "3"] and len(lines) == 1 + 45 + 1
    assert lines[1].split()[0] == "1" and lines[1].split()[1] in ("cat", "dog", "eel")
    assert lines[-1].startswith(f"trial {ids[0]}: 45 of 45 inputs predicted, accuracy ")
    assert main(["predict", "--trial", "99", "--input", str(test_rows), "--store", str(db)]) == 2
    assert "99" in capsys.readouterr().err


def test_every_member_of_trials_trained_together_keeps_the_preprocessing(tmp_path: Path) -> None:
    from trainers.data import load_dataset
    from trainers.search.stacked_trials import StackMember, run_stacked
    from trainers.spec.events import NullSink

    cfgs = [_cfg(DataConfig(source="digits"), epochs=1).replace(**{"optim.lr": lr}) for lr in (1e-3, 3e-3)]
    with TrialStore(str(tmp_path / "t.db")) as store:
        runs = run_stacked([StackMember(c, NullSink()) for c in cfgs], load_dataset(cfgs[0].data), store=store)
        kept = [store.get_trial(r.trial_id).extra.get("preprocessing") for r in runs]
    assert len(kept) == 2 and kept[0] is not None and kept[0] == kept[1] and kept[0]["source"] == "digits"
