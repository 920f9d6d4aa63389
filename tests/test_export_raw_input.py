"""Exports of models trained on raw files: an MLP on a CSV with a categorical column, and a ResNet-18 (random
initialisation) on a folder of PNG images. ONNX Runtime matches torch (≤ 1e-5, same classes) on the test split, and
the exported predict.py, run by a Python that cannot import torch (nor TuneLab), gives the classes TuneLab's own
prediction gives on the raw CSV rows and image files."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from trainers.api import TrialStore, run_training
from trainers.cli.main import main
from trainers.spec.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from trainers.use.export_check import onnx_session
from trainers.use.export_trial import export_trial
from trainers.use.predict import predict
from trainers.use.trial_model import load_trial_model, split_of, trial_bundle

pytestmark = pytest.mark.slow

# predict.py run where `import torch` (and `import trainers`) fails, as on a machine with onnxruntime and numpy only
WITHOUT_TORCH = (
    "import sys; sys.modules['torch'] = None; sys.modules['trainers'] = None; import runpy; "
    "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
)
COLOURS = ["red", "green", "blue"]


def _animals_csv(path: Path, n: int = 150) -> Path:
    """Three species told apart by height and colour (a categorical column), with noise."""
    rng = np.random.default_rng(7)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["height", "colour", "weight", "species"])
        for i in range(n):
            k = i % 3
            colour = COLOURS[k] if rng.random() < 0.7 else COLOURS[int(rng.integers(3))]
            w.writerow([f"{10 + 2 * k + rng.normal() * 2:.3f}", colour, f"{50 + rng.normal() * 10:.2f}", "abc"[k]])
    return path


def _image_folder(root: Path, per_class: int = 12) -> Path:
    """Three classes of 20x20 PNGs (tinted noise, one grayscale image among them): resized to 16x16 in training."""
    rng = np.random.default_rng(3)
    for k, name in enumerate(["circle", "square", "star"]):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (20, 20, 3))
            pixels[..., k] = np.clip(pixels[..., k] + 90, 0, 255)
            im = Image.fromarray(pixels.astype(np.uint8), "RGB")
            (im.convert("L") if (k, i) == (0, 0) else im).save(root / name / f"{i:02d}.png")
    return root


def _exported_predictions(folder: Path, input_path: Path, cwd: Path) -> list[dict]:
    proc = subprocess.run(
        [sys.executable, "-c", WITHOUT_TORCH, str(folder / "predict.py"), str(input_path), "--json"],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _check_parity(store: TrialStore, trial_id: int, folder: Path) -> float:
    """Independent of the export's own check: ONNX Runtime on the test split against the loaded torch model."""
    loaded = load_trial_model(store, trial_id)
    test = split_of(trial_bundle(store, trial_id), "test")
    assert test.x is not None
    with torch.no_grad():
        reference = loaded.model(test.x).numpy()
    got = np.asarray(onnx_session(folder / "model.onnx").run(None, {"input": test.x.numpy()})[0])
    assert (got.argmax(1) == reference.argmax(1)).all()
    return float(np.abs(got - reference).max())


def test_csv_model_export_predicts_like_tunelab_without_torch(tmp_path: Path) -> None:
    path = _animals_csv(tmp_path / "animals.csv")
    cfg = RunConfig(
        data=DataConfig(source="csv", path=str(path), test_split=0.3),
        model=ModelConfig(family="mlp", hidden_layers=2, hidden_units=16, batch_norm=True, dropout=0.2),
        train=TrainConfig(epochs=3, batch_size=16, threads=1, device="cpu"),
    )
    out = tmp_path / "export"
    with TrialStore(str(tmp_path / "t.db")) as store:
        trial_id = run_training(cfg, store=store).trial_id
        assert main(["export", str(trial_id), "-o", str(out), "--store", str(tmp_path / "t.db"), "--json"]) == 0
        diff = _check_parity(store, trial_id, out)
        ours = predict(store, path, trial_id=trial_id)
    print(f"csv mlp: ONNX Runtime vs torch, max |logit difference| {diff:.3g}")
    assert diff <= 1e-5
    exported = _exported_predictions(out, path, tmp_path)
    assert [r["id"] for r in exported] == [r.id for r in ours.rows]
    assert [r["label"] for r in exported] == [r.label for r in ours.rows]
    assert all("error" not in r for r in exported) and len(exported) == 150
    np.testing.assert_allclose([r["probability"] for r in exported], [r.probability for r in ours.rows], atol=1e-5)
    assert (
        json.loads((out / "signature.json").read_text())["preprocessing"]["columns"][1]["categories"] == COLOURS[::-1]
    )


def test_csv_bad_rows_and_columns_are_one_line_each(tmp_path: Path) -> None:
    """predict.py refuses a missing column as a whole and an unseen category per row, like TuneLab."""
    path = _animals_csv(tmp_path / "animals.csv", n=60)
    cfg = RunConfig(
        data=DataConfig(source="csv", path=str(path)),
        model=ModelConfig(family="mlp", hidden_layers=1, hidden_units=8),
        train=TrainConfig(epochs=1, batch_size=16, threads=1, device="cpu"),
    )
    with TrialStore(str(tmp_path / "t.db")) as store:
        export_trial(store, run_training(cfg, store=store).trial_id, tmp_path / "export")
    bad = tmp_path / "bad.csv"
    bad.write_text("height,colour,weight\n11.0,purple,50\n12.0,red,51\n")
    proc = subprocess.run(
        [sys.executable, "-c", WITHOUT_TORCH, str(tmp_path / "export" / "predict.py"), str(bad), "--json"],
        capture_output=True,
        text=True,
    )
    rows = json.loads(proc.stdout)
    assert proc.returncode == 1 and "'purple' was not seen in training" in rows[0]["error"] and rows[1]["label"]
    (tmp_path / "missing.csv").write_text("height,weight\n11.0,50\n")
    proc = subprocess.run(
        [sys.executable, "-c", WITHOUT_TORCH, str(tmp_path / "export" / "predict.py"), str(tmp_path / "missing.csv")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "missing column(s) 'colour'" in proc.stderr


def test_resnet18_image_folder_export_predicts_like_tunelab_without_torch(tmp_path: Path) -> None:
    root = _image_folder(tmp_path / "shapes")
    cfg = RunConfig(
        data=DataConfig(source="image_folder", path=str(root), image_size=16, val_split=0.2, test_split=0.25),
        model=ModelConfig(family="resnet18", dropout=0.1),
        train=TrainConfig(epochs=1, batch_size=8, threads=1, device="cpu"),
    )
    out = tmp_path / "export"
    with TrialStore(str(tmp_path / "t.db")) as store:
        result = run_training(cfg, store=store)
        assert result.status == "completed", result.message
        exported_result = export_trial(store, result.trial_id, out)
        diff = _check_parity(store, result.trial_id, out)
        ours = predict(store, root, trial_id=result.trial_id)
    print(f"resnet18: ONNX Runtime vs torch, max |logit difference| {diff:.3g}; export {exported_result.seconds:.1f}s")
    assert diff <= 1e-5 and exported_result.check.max_abs_diff <= 1e-5 and exported_result.check.labels_equal
    exported = _exported_predictions(out, root, tmp_path)
    assert len(exported) == 36 and [r["id"] for r in exported] == [r.id for r in ours.rows]
    assert [r["label"] for r in exported] == [r.label for r in ours.rows]
    np.testing.assert_allclose([r["probability"] for r in exported], [r.probability for r in ours.rows], atol=1e-5)
