"""Checkpoints: atomic save, CPU load, and refusal of files that would run code when unpickled."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from trainers.training.checkpoints import load_checkpoint, save_checkpoint
from trainers.spec.errors import StoreError


class _Payload:
    """Unpickling this creates a file: stands in for any code hidden in a downloaded checkpoint."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.Linear(8, 3))


def test_round_trip(tmp_path: Path) -> None:
    model = _model()
    meta = {"epoch": 7, "val_acc": 0.93, "name": "best", "ok": True, "none": None, "shape": [1, 28, 28],
            "nested": {"classes": ["a", "b"]}}
    path = save_checkpoint(tmp_path / "deep" / "best.pt", model.state_dict(), meta)
    assert path == tmp_path / "deep" / "best.pt" and path.is_file()
    state, loaded_meta = load_checkpoint(path)
    assert loaded_meta == meta
    assert state.keys() == model.state_dict().keys()
    for key, tensor in model.state_dict().items():
        assert torch.equal(state[key], tensor) and state[key].device.type == "cpu"
    fresh = _model()
    fresh.load_state_dict(state)


def test_overwrite_is_atomic_and_leaves_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"w": torch.zeros(3)}, {"epoch": 1})
    save_checkpoint(path, {"w": torch.ones(3)}, {"epoch": 2})
    state, meta = load_checkpoint(str(path))
    assert torch.equal(state["w"], torch.ones(3)) and meta == {"epoch": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]


def test_meta_must_be_plain(tmp_path: Path) -> None:
    path = tmp_path / "c.pt"
    for meta in ({"acc": np.float32(0.5)}, {"acc": np.float64(0.5)}, {"t": torch.tensor(1.0)}, {1: "x"}, [1]):
        with pytest.raises(StoreError, match="meta"):
            save_checkpoint(path, {"w": torch.zeros(1)}, meta)  # type: ignore[arg-type]
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_would_run_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    marker = tmp_path / "code-ran"
    torch.save({"model": {"w": _Payload(marker)}, "meta": {}}, path)
    with pytest.raises(StoreError, match=str(path)):
        load_checkpoint(path)
    assert not marker.exists()
    # The same file does run code through an unrestricted load, so the refusal above is what saved us.
    torch.load(path, weights_only=False)
    assert marker.exists()


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no checkpoint"):
        load_checkpoint(tmp_path / "nope.pt")


def test_damaged_files(tmp_path: Path) -> None:
    good = save_checkpoint(tmp_path / "good.pt", {"w": torch.arange(1000.0)}, {"epoch": 1})
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:200])
    noise = tmp_path / "noise.pt"
    noise.write_bytes(b"\x00\x01not a checkpoint" * 50)
    for path in (truncated, noise):
        with pytest.raises(StoreError, match=str(path)):
            load_checkpoint(path)


def test_a_bare_tensor_file_is_not_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "tensor.pt"
    torch.save(torch.zeros(2), path)
    with pytest.raises(StoreError, match="not a TuneLab checkpoint"):
        load_checkpoint(path)
