"""Export of ensembles: an ensemble file (`tunelab export --ensemble FILE`) and a stored ensemble trial become one
ONNX network giving the ensemble's probabilities. ONNX Runtime matches TuneLab's own ensemble (≤ 1e-5, same
classes) on the test split, and the exported predict.py, without torch, predicts the raw CSV as TuneLab does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_export_raw_input import WITHOUT_TORCH, _animals_csv

from trainers.cli.main import main
from trainers.spec.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from trainers.store import TrialStore
from trainers.training.run import run_training
from trainers.use.predict import predict

pytestmark = pytest.mark.slow


def _ensemble(capsys: pytest.CaptureFixture[str], db: Path, method: str, file: Path) -> dict:
    args = ["ensemble", "--method", method, "--top", "2", "--store", str(db), "--quiet", "--json"]
    assert main([*args, "--export", str(file)]) == 0
    return json.loads(capsys.readouterr().out)


def _export(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    code = main(["export", *args, "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def test_ensembles_export_with_their_combination(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _animals_csv(tmp_path / "animals.csv")
    db = tmp_path / "t.db"
    with TrialStore(str(db)) as store:
        for seed in (0, 1):
            cfg = RunConfig(
                data=DataConfig(source="csv", path=str(path), test_split=0.3),
                model=ModelConfig(family="mlp", hidden_layers=1, hidden_units=12),
                train=TrainConfig(epochs=2, batch_size=16, seed=seed, threads=1, device="cpu"),
            )
            assert run_training(cfg, store=store).status == "completed"
    soft = _ensemble(capsys, db, "soft-vote", tmp_path / "soft.tlens")
    hard = _ensemble(capsys, db, "hard-vote", tmp_path / "hard.tlens")
    from_file = _export(capsys, "--ensemble", str(tmp_path / "soft.tlens"), "-o", str(tmp_path / "soft"))
    from_trial = _export(capsys, str(hard["trial_id"]), "-o", str(tmp_path / "hard"), "--store", str(db))
    for result in (from_file, from_trial):
        check = result["check"]
        print(f"{result['source']}: ONNX Runtime vs TuneLab, max |probability difference| {check['max_abs_diff']:.3g}")
        assert check["passed"] and check["compared"] == "probabilities" and check["max_abs_diff"] <= 1e-5
        assert check["labels_equal"] and check["samples"] == 45
    signature = json.loads((tmp_path / "hard" / "signature.json").read_text())
    assert signature["outputs"][0]["name"] == "probabilities" and signature["trial"]["id"] == hard["trial_id"]
    assert signature["metrics"]["test_acc"] == hard["ensemble"]["test_acc"]
    assert json.loads((tmp_path / "soft" / "signature.json").read_text())["model"]["combiner"] == "soft"
    for folder, file in (("soft", "soft.tlens"), ("hard", "hard.tlens")):
        proc = subprocess.run(
            [sys.executable, "-c", WITHOUT_TORCH, str(tmp_path / folder / "predict.py"), str(path), "--json"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert proc.returncode == 0, proc.stderr
        exported = json.loads(proc.stdout)
        ours = predict(None, path, ensemble_file=tmp_path / file)
        assert [r["label"] for r in exported] == [r.label for r in ours.rows]
        got, want = [r["probability"] for r in exported], [r.probability for r in ours.rows]
        np.testing.assert_allclose(got, want, atol=1e-5)
    assert soft["ensemble"]["test_acc"] is not None
