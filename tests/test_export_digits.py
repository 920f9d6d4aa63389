"""Export of stored digits trials (an MLP and a CNN, with batch norm and dropout): ONNX Runtime gives torch's logits
(≤ 1e-5) and classes on the test split, checked here independently of the export's own check; the folder holds one
ONNX file with a symbolic batch, a loadable .pt2 and state dict, and a signature with what it promises. A failed
check, or a folder in the way, leaves nothing behind."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
import torch

from trainers.api import TrialStore, run_training
from trainers.models import build_model
from trainers.spec.config import RunConfig
from trainers.spec.errors import ExportError
from trainers.use import export_trial as export_module
from trainers.use.export_check import check_parity, onnx_session
from trainers.use.export_trial import FILES, export_trial
from trainers.use.preprocessing import preprocessing_for_trial
from trainers.use.trial_model import load_trial_model, split_of, trial_bundle

pytestmark = pytest.mark.slow

TINY = RunConfig().replace(
    **{
        "train.epochs": 1,
        "train.threads": 1,
        "model.hidden_layers": 1,
        "model.hidden_units": 24,
        "model.batch_norm": True,
        "model.dropout": 0.3,
        "model.cnn_blocks": 2,
        "model.cnn_channels": 8,
    }
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, int]]:
    url = str(tmp_path_factory.mktemp("export") / "trials.db")
    ids = {}
    with TrialStore(url) as store:
        for family in ("mlp", "cnn"):
            result = run_training(TINY.replace(**{"model.family": family}), store=store)
            assert result.status == "completed", result.message
            ids[family] = result.trial_id
    return url, ids


@pytest.fixture(scope="module")
def exported(trained: tuple[str, dict[str, int]], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Each trial exported once (exports take seconds); the tests read the folders."""
    url, ids = trained
    root = tmp_path_factory.mktemp("exported")
    with TrialStore(url) as store:
        return {family: export_trial(store, ids[family], root / family) for family in ids}


def _onnx_logits(folder: Path, x: torch.Tensor) -> np.ndarray:
    return np.asarray(onnx_session(folder / "model.onnx").run(None, {"input": x.numpy()})[0])


@pytest.mark.parametrize("family", ["mlp", "cnn"])
def test_onnx_runtime_matches_torch_on_the_test_split(
    trained: tuple[str, dict[str, int]], exported: dict[str, Any], family: str
) -> None:
    url, ids = trained
    result = exported[family]
    out = Path(result.folder)
    with TrialStore(url) as store:
        loaded = load_trial_model(store, ids[family])
        test = split_of(trial_bundle(store, ids[family]), "test")
        stored = store.get_trial(ids[family])
        prep = preprocessing_for_trial(store, ids[family]).to_json()
    assert test.x is not None and test.y is not None
    with torch.no_grad():
        reference = loaded.model(test.x).numpy()
    got = _onnx_logits(out, test.x)
    diff = float(np.abs(got - reference).max())
    print(f"{family}: ONNX Runtime vs torch, max |logit difference| {diff:.3g} on {len(test)} test samples")
    assert diff <= 1e-5
    assert (got.argmax(1) == reference.argmax(1)).all()
    assert result.check.passed and result.check.samples == len(test) and result.check.split == "test"
    assert result.check.max_abs_diff <= 1e-5 and result.check.labels_equal and result.check.compared == "logits"
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)  # one ONNX file: no external weights beside it
    signature = json.loads((out / "signature.json").read_text())
    assert signature["inputs"] == [{"name": "input", "dtype": "float32", "shape": ["batch", 1, 8, 8]}]
    assert signature["outputs"][0]["shape"] == ["batch", 10] and "logits" in signature["outputs"][0]["meaning"]
    assert signature["class_names"] == [str(i) for i in range(10)]
    assert signature["preprocessing"] == prep
    assert signature["metrics"]["test_acc"] == stored.test_acc and signature["config"] == stored.config
    assert signature["versions"]["onnxruntime"] and signature["versions"]["torch"] == torch.__version__
    # accuracy of the exported model on the test split is the stored one
    assert float((got.argmax(1) == test.y.numpy()).mean()) == pytest.approx(stored.test_acc, abs=1e-9)


def test_the_batch_is_symbolic_and_the_other_forms_load(
    trained: tuple[str, dict[str, int]], exported: dict[str, Any]
) -> None:
    url, ids = trained
    out = Path(exported["cnn"].folder)
    with TrialStore(url) as store:
        loaded = load_trial_model(store, ids["cnn"])
    graph = onnx.load(str(out / "model.onnx")).graph
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    x = torch.randn(7, 1, 8, 8)
    with torch.no_grad():
        reference = loaded.model(x).numpy()
    for n in (1, 7):
        np.testing.assert_allclose(_onnx_logits(out, x[:n]), reference[:n], atol=1e-5)
    program = torch.export.load(str(out / "model.pt2")).module()
    np.testing.assert_allclose(program(x).detach().numpy(), reference, atol=1e-6)
    rebuilt = build_model(loaded.cfg.model, (1, 8, 8), 10)
    rebuilt.load_state_dict(torch.load(out / "model.pt", weights_only=True))
    np.testing.assert_allclose(rebuilt.eval()(x).detach().numpy(), reference, atol=1e-6)


def test_a_failed_check_fails_the_export_and_leaves_no_folder(
    trained: tuple[str, dict[str, int]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, ids = trained

    def strict(*args: object) -> object:
        return check_parity(*args, tolerance=-1.0)  # type: ignore[arg-type]  # no difference can pass

    monkeypatch.setattr(export_module, "check_parity", strict)
    out = tmp_path / "exports" / "mlp"
    with TrialStore(url) as store, pytest.raises(ExportError, match="does not compute what the trained model"):
        export_trial(store, ids["mlp"], out)
    assert not out.exists()
    assert list((tmp_path / "exports").iterdir()) == []  # no half-written staging folder either


def test_a_folder_in_the_way_is_refused(trained: tuple[str, dict[str, int]], tmp_path: Path) -> None:
    url, ids = trained
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    (tmp_path / "file").write_text("x")
    with TrialStore(url) as store:
        with pytest.raises(ExportError, match="not empty"):
            export_trial(store, ids["mlp"], tmp_path / "full")
        with pytest.raises(ExportError, match="a file is in the way"):
            export_trial(store, ids["mlp"], tmp_path / "file")
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["keep.txt"]
