"""Image-folder source on PNG/JPEG folders the tests generate with Pillow, and its error messages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from trainers.data import DatasetBundle, iter_batches, load_dataset
from trainers.spec.config import DataConfig
from trainers.spec.errors import DataError

CPU = torch.device("cpu")
COLOURS = {"blue": (0, 0, 255), "green": (0, 255, 0), "red": (255, 0, 0)}


def make_folder(root: Path, mode: str = "RGB", per_class: int = 8, ext: str = ".png") -> Path:
    """One sub-folder per class of solid-colour images in varied sizes."""
    for name, rgb in COLOURS.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            img = Image.new("RGB", (10 + 3 * i, 7 + 2 * i), rgb)
            (img.convert(mode) if mode != "RGB" else img).save(root / name / f"img{i}{ext}")
    return root


def load(root: Path, **kw: object) -> DatasetBundle:
    return load_dataset(DataConfig(source="image_folder", path=str(root), **kw))  # type: ignore[arg-type]


def _all(bundle: DatasetBundle) -> tuple[torch.Tensor, torch.Tensor]:
    parts = [bundle.train, bundle.val] + ([bundle.test] if bundle.test is not None else [])
    return torch.cat([p.x for p in parts]), torch.cat([p.y for p in parts])


def test_rgb_folder_resized_with_sorted_class_names(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "colours")
    bundle = load(root, image_size=12, normalize=False)
    assert bundle.name == "colours"
    assert bundle.class_names == ["blue", "green", "red"] and bundle.num_classes == 3
    assert bundle.input_shape == (3, 12, 12)
    x, y = _all(bundle)
    assert x.shape == (24, 3, 12, 12)
    # a solid colour stays that colour through resizing: class k lights up its own channel
    channel_of = {0: 2, 1: 1, 2: 0}
    for k, ch in channel_of.items():
        assert torch.allclose(x[y == k][:, ch], torch.ones(1)), k
        assert float(x[y == k].sum()) == pytest.approx(float(x[y == k][:, ch].sum()))


def test_grayscale_folder_has_one_channel(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "gray", mode="L", ext=".JPG")
    bundle = load(root, image_size=8)
    assert bundle.input_shape == (1, 8, 8) and bundle.train.x.shape[1:] == (1, 8, 8)
    assert abs(float(bundle.train.x.mean())) < 1e-4  # training statistics
    assert len(bundle.train) + len(bundle.val) + len(bundle.test or []) == 24


def test_one_colour_image_makes_the_whole_set_rgb(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "mixed", mode="L")
    Image.new("RGB", (9, 9), (10, 200, 30)).save(root / "red" / "colour.png")
    assert load(root, image_size=8).input_shape == (3, 8, 8)


def test_sixteen_bit_grayscale_is_scaled_to_unit_range(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "deep", mode="L")
    Image.fromarray(np.full((6, 6), 65535, dtype=np.uint16)).save(root / "blue" / "deep.png")
    bundle = load(root, image_size=6, normalize=False)
    assert bundle.input_shape == (1, 6, 6)
    x, _ = _all(bundle)
    assert float(x.max()) == pytest.approx(1.0) and float(x.min()) >= 0.0


def test_hidden_and_non_image_files_are_skipped(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "noisy")
    (root / "red" / "notes.txt").write_text("not an image")
    (root / "red" / ".hidden.png").write_bytes(b"garbage")
    (root / ".cache").mkdir()
    (root / ".cache" / "x.png").write_bytes(b"garbage")
    (root / "readme.png").write_bytes(b"loose files beside the class folders are ignored")
    bundle = load(root, image_size=8)
    assert bundle.class_names == ["blue", "green", "red"]
    assert sum(len(s) for s in (bundle.train, bundle.val, bundle.test) if s is not None) == 24


@pytest.mark.parametrize("case", ["missing", "empty", "no_images", "empty_class", "one_class"])
def test_bad_folders_name_the_path(tmp_path: Path, case: str) -> None:
    root = tmp_path / "data"
    if case != "missing":
        root.mkdir()
    if case == "no_images":
        (root / "a").mkdir()
        (root / "a" / "x.txt").write_text("text")
    if case == "empty_class":
        make_folder(root)
        (root / "zebra").mkdir()
    if case == "one_class":
        make_folder(root)
        for name in ("blue", "green"):
            for f in (root / name).iterdir():
                f.unlink()
            (root / name).rmdir()
    with pytest.raises(DataError) as info:
        load(root)
    assert str(root) in str(info.value)
    if case == "empty_class":
        assert str(root / "zebra") in str(info.value)
    if case == "one_class":
        assert "at least 2" in str(info.value)


@pytest.mark.parametrize("bad", ["truncated", "text"])
def test_unreadable_image_names_its_path(tmp_path: Path, bad: str) -> None:
    root = make_folder(tmp_path / "broken")
    target = root / "green" / "bad.png"
    if bad == "truncated":
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(target)
        blob = target.read_bytes()
        target.write_bytes(blob[: len(blob) // 2])
    else:
        target.write_text("this is a text file with a .png name")
    with pytest.raises(DataError) as info:
        load(root, image_size=8)
    assert str(target) in str(info.value)


def test_streaming_matches_in_memory(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "big")
    # 24 RGB images of 64x64 floats are ~1.2 MB, over a 1 MB limit
    memory = load(root, image_size=64)
    stream = load(root, image_size=64, in_memory_limit_mb=1)
    assert memory.train.in_memory and not stream.train.in_memory
    assert stream.input_shape == (3, 64, 64)
    gen = torch.Generator().manual_seed(0)
    for a, b in ((memory.train, stream.train), (memory.val, stream.val)):
        xa, ya = zip(*iter_batches(a, 5, shuffle=False, gen=gen, device=CPU))
        xb, yb = zip(*iter_batches(b, 5, shuffle=False, gen=gen, device=CPU))
        assert torch.equal(torch.cat(ya), torch.cat(yb))
        assert torch.allclose(torch.cat(xa), torch.cat(xb), atol=1e-5)


def test_streaming_reports_a_bad_image_when_read(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "big")
    target = root / "blue" / "late.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(target)
    target.write_bytes(target.read_bytes()[:-200])  # the header is intact, the pixel data is not
    cfg = dict(image_size=64, in_memory_limit_mb=1, normalize=False)
    bundle = load(root, **cfg)
    with pytest.raises(DataError) as info:
        for split in (bundle.train, bundle.val, bundle.test):
            assert split is not None
            for _ in DataLoader(split.dataset, batch_size=8, num_workers=0):
                pass
    assert str(target) in str(info.value)


def test_a_bad_image_read_by_a_worker_process_gives_one_clear_message(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "big")
    target = root / "blue" / "late.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(target)
    target.write_bytes(target.read_bytes()[:-200])
    bundle = load(root, image_size=64, in_memory_limit_mb=1, normalize=False)
    gen = torch.Generator().manual_seed(0)
    with pytest.raises(DataError) as info:
        for split in (bundle.train, bundle.val, bundle.test):
            assert split is not None
            for _ in iter_batches(split, 4, shuffle=False, gen=gen, device=CPU, num_workers=2):
                pass
    assert str(target) in str(info.value)
    assert "Traceback" not in str(info.value) and "\n" not in str(info.value)
