"""Checkpoints: atomic save, CPU load, and refusal of files that would run code when unpickled."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from trainers.spec.errors import StoreError
from trainers.training import checkpoints
from trainers.training.checkpoints import load_checkpoint, save_checkpoint


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
    meta = {
        "epoch": 7,
        "val_acc": 0.93,
        "name": "best",
        "ok": True,
        "none": None,
        "shape": [1, 28, 28],
        "nested": {"classes": ["a", "b"]},
    }
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


def _big_state() -> dict:
    return {"w": torch.zeros(1_000_000)}  # large enough that torch.save itself meets the failed write


def test_a_full_disk_is_one_line_naming_the_path_and_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # /dev/full fails every write with ENOSPC, as a full disk does
    monkeypatch.setattr(
        checkpoints.tempfile, "mkstemp", lambda **_: (os.open("/dev/full", os.O_WRONLY), str(tmp_path / ".best.pt.tmp"))
    )
    target = tmp_path / "best.pt"
    with pytest.raises(StoreError) as info:
        save_checkpoint(target, _big_state(), {"epoch": 1})
    assert str(info.value) == f"cannot write the checkpoint {target}: no space left on device"
    assert not target.exists()


def test_torch_internals_never_reach_the_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_save(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 768 vs 662")

    monkeypatch.setattr(checkpoints.torch, "save", failing_save)
    with pytest.raises(StoreError) as info:
        save_checkpoint(tmp_path / "best.pt", {"w": torch.zeros(2)}, {"epoch": 1})
    assert str(tmp_path / "best.pt") in str(info.value)
    assert "enforce fail" not in str(info.value) and "inline_container" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_is_a_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file where the folder should be")
    target = tmp_path / "taken" / "best.pt"
    with pytest.raises(StoreError) as info:
        save_checkpoint(target, {"w": torch.zeros(2)}, {"epoch": 1})
    assert str(info.value) == f"cannot write the checkpoint {target}: {tmp_path / 'taken'} is a file, not a folder"


@pytest.mark.parametrize("content", ["code", "noise", "numpy"])
def test_a_refused_file_never_suggests_unsafe_loading(tmp_path: Path, content: str) -> None:
    path = tmp_path / "x.pt"
    if content == "code":
        torch.save({"model": {"w": _Payload(tmp_path / "ran")}, "meta": {}}, path)
    elif content == "noise":
        path.write_bytes(b"\x00\x01not a checkpoint" * 50)
    else:
        torch.save({"model": {}, "meta": {"x": np.float64(1.0)}}, path)
    with pytest.raises(StoreError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message and "weights_only" not in message and "can still be loaded" not in message
    if content != "noise":
        assert f"{path} is not a TuneLab checkpoint (or was made by an incompatible version)" in message


def test_an_ensemble_file_that_is_refused_says_what_it_should_be(tmp_path: Path) -> None:
    from trainers.ensembles.ensemble_file import load_ensemble

    path = tmp_path / "e.tlens"
    torch.save({"model": {"w": _Payload(tmp_path / "ran")}, "meta": {}}, path)
    with pytest.raises(StoreError, match="is not a TuneLab ensemble file") as info:
        load_ensemble(path)
    assert "weights_only" not in str(info.value) and not (tmp_path / "ran").exists()
