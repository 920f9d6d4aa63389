"""Torchvision sources read from real files the tests write: MNIST-format IDX files, a CIFAR archive."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
import torch
import torchvision.datasets as tvd
from idx_files import IDX_FILES, write_idx

from trainers.data import iter_batches, load_dataset
from trainers.spec.config import DataConfig
from trainers.spec.errors import DataError
from trainers.spec.paths import data_dir, default_store_path

CPU = torch.device("cpu")


def test_mnist_from_idx_files(tmp_path: Path) -> None:
    arrays = write_idx(tmp_path / "MNIST" / "raw")
    # test_split is ignored: the official test set is the test split
    bundle = load_dataset(DataConfig(source="mnist", path=str(tmp_path), test_split=0.4))
    assert bundle.name == "mnist"
    assert bundle.input_shape == (1, 28, 28)
    assert bundle.num_classes == 10 and bundle.class_names[0] == "0 - zero"
    assert bundle.train.in_memory and bundle.train.x.shape[1:] == (1, 28, 28)
    assert len(bundle.train) + len(bundle.val) == 60
    assert len(bundle.val) == 9  # 3 per class of 20, stratified
    assert sorted(bundle.val.y.tolist()) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert bundle.test is not None and len(bundle.test) == 20
    assert bundle.test.y.tolist() == arrays["test_y"].tolist()  # official test set, in file order
    assert abs(float(bundle.train.x.mean())) < 1e-4
    assert float(bundle.train.x.std()) == pytest.approx(1.0, abs=1e-3)


def test_pixels_are_unit_range_floats_in_file_order(tmp_path: Path) -> None:
    arrays = write_idx(tmp_path / "MNIST" / "raw")
    bundle = load_dataset(DataConfig(source="mnist", path=str(tmp_path), normalize=False))
    assert bundle.test is not None and bundle.test.x.dtype == torch.float32
    expected = torch.from_numpy(arrays["test_x"]).float().unsqueeze(1) / 255
    assert torch.allclose(bundle.test.x, expected)
    assert 0.0 <= float(bundle.train.x.min()) and float(bundle.train.x.max()) <= 1.0


def test_normalisation_uses_training_statistics_only(tmp_path: Path) -> None:
    write_idx(tmp_path / "MNIST" / "raw")
    raw = load_dataset(DataConfig(source="mnist", path=str(tmp_path), normalize=False))
    norm = load_dataset(DataConfig(source="mnist", path=str(tmp_path)))
    mean, std = raw.train.x.mean(), raw.train.x.std()
    assert norm.test is not None and raw.test is not None
    assert torch.allclose(norm.test.x, (raw.test.x - mean) / std, atol=1e-5)


def test_fashion_mnist_and_gzipped_files(tmp_path: Path) -> None:
    write_idx(tmp_path / "FashionMNIST" / "raw", gz=True, classes=4, n_train=80)
    bundle = load_dataset(DataConfig(source="fashion_mnist", path=str(tmp_path), val_split=0.25))
    assert bundle.class_names[0] == "T-shirt/top"
    assert len(bundle.train) == 60 and len(bundle.val) == 20
    assert sorted(torch.unique(bundle.train.y).tolist()) == [0, 1, 2, 3]
    assert (tmp_path / "FashionMNIST" / "raw" / IDX_FILES[0]).is_file()


def test_train_fraction_applies_to_the_training_part(tmp_path: Path) -> None:
    write_idx(tmp_path / "MNIST" / "raw", n_train=300)
    bundle = load_dataset(DataConfig(source="mnist", path=str(tmp_path), train_fraction=0.5))
    assert len(bundle.val) == 45
    assert len(bundle.train) == pytest.approx(255 / 2, abs=3)


def test_missing_files_name_the_folder_and_every_file(tmp_path: Path) -> None:
    root = tmp_path / "nowhere"
    with pytest.raises(DataError) as info:
        load_dataset(DataConfig(source="mnist", path=str(root)))
    msg = str(info.value)
    assert str(root / "MNIST" / "raw") in msg
    for name in IDX_FILES:
        assert str(root / "MNIST" / "raw" / name) in msg
    assert "data.download = true" in msg


def test_empty_path_uses_the_data_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        load_dataset(DataConfig(source="kmnist"))
    assert str(data_dir() / "datasets" / "KMNIST" / "raw") in str(info.value)


def test_cifar_and_svhn_messages_name_their_files(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        load_dataset(DataConfig(source="cifar10", path=str(tmp_path)))
    msg = str(info.value)
    assert str(tmp_path / "cifar-10-batches-py" / "data_batch_1") in msg
    assert "cifar-10-python.tar.gz" in msg and "data.download = true" in msg
    with pytest.raises(DataError) as info:
        load_dataset(DataConfig(source="svhn", path=str(tmp_path)))
    assert str(tmp_path / "train_32x32.mat") in str(info.value)
    assert str(tmp_path / "test_32x32.mat") in str(info.value)


def test_cifar_archive_is_unpacked_and_checked(tmp_path: Path) -> None:
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]:
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = 4
            tar.addfile(info, io.BytesIO(b"fake"))
    with pytest.raises(DataError, match="corrupted or not the official"):
        load_dataset(DataConfig(source="cifar10", path=str(tmp_path)))
    assert (tmp_path / "cifar-10-batches-py" / "test_batch").is_file()


def test_failed_download_is_one_data_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(self: object) -> None:
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz: no network")

    monkeypatch.setattr(tvd.MNIST, "download", offline)
    with pytest.raises(DataError) as info:
        load_dataset(DataConfig(source="mnist", path=str(tmp_path), download=True))
    msg = str(info.value)
    assert "no network" in msg and str(tmp_path / "MNIST" / "raw" / IDX_FILES[0]) in msg


def test_truncated_idx_file_is_reported(tmp_path: Path) -> None:
    raw = tmp_path / "MNIST" / "raw"
    write_idx(raw)
    blob = (raw / IDX_FILES[0]).read_bytes()
    (raw / IDX_FILES[0]).write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataError) as info:
        load_dataset(DataConfig(source="mnist", path=str(tmp_path)))
    assert "corrupted" in str(info.value) and str(raw) in str(info.value)
    (raw / IDX_FILES[0]).write_bytes(b"xx")
    with pytest.raises(DataError, match=r"corrupted .*\(AssertionError\)"):
        load_dataset(DataConfig(source="mnist", path=str(tmp_path)))


def test_streaming_matches_in_memory(tmp_path: Path) -> None:
    # 400 + 50 images of 28x28 floats are ~1.4 MB, over a 1 MB limit
    write_idx(tmp_path / "MNIST" / "raw", n_train=400, n_test=50, classes=4)
    memory = load_dataset(DataConfig(source="mnist", path=str(tmp_path)))
    stream = load_dataset(DataConfig(source="mnist", path=str(tmp_path), in_memory_limit_mb=1))
    assert memory.train.in_memory and not stream.train.in_memory
    assert stream.test is not None and memory.test is not None and not stream.test.in_memory
    assert stream.input_shape == memory.input_shape
    gen = torch.Generator().manual_seed(0)
    for a, b in ((memory.train, stream.train), (memory.val, stream.val), (memory.test, stream.test)):
        assert len(a) == len(b)
        xa, ya = zip(*iter_batches(a, 32, shuffle=False, gen=gen, device=CPU))
        xb, yb = zip(*iter_batches(b, 32, shuffle=False, gen=gen, device=CPU))
        assert [t.shape for t in xa] == [t.shape for t in xb]
        assert torch.equal(torch.cat(ya), torch.cat(yb))
        assert torch.allclose(torch.cat(xa), torch.cat(xb), atol=1e-4)


def test_paths_follow_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNELAB_DATA_DIR", str(tmp_path / "d"))
    assert data_dir() == tmp_path / "d"
    assert default_store_path() == tmp_path / "d" / "trials.db"
    monkeypatch.delenv("TUNELAB_DATA_DIR")
    assert data_dir().name.lower() == "tunelab"
