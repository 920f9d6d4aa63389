"""The architecture registry: every family on every input it supports, dropout, counts, pretrained files."""

from __future__ import annotations

import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import torch
from torch import nn
from torchvision import models as tvm

from trainers.models import (
    ModelInfo,
    build_model,
    count_parameters,
    describe_model,
    model_summary,
    pretrained_weights_path,
)
from trainers.spec.config import MODEL_FAMILIES, TORCHVISION_MODELS, ModelConfig
from trainers.spec.errors import ConfigError, ModelError

IMAGE_SHAPES = [(1, 8, 8), (1, 28, 28), (3, 32, 32)]
CASES = [("mlp", (64,))] + [(family, shape) for family in MODEL_FAMILIES for shape in IMAGE_SHAPES]
RESNET_FILE = "resnet18-f37072fd.pth"


@pytest.fixture(autouse=True)
def _seeded() -> None:
    torch.manual_seed(0)


@pytest.fixture
def hub_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty torch hub directory, and a network that fails the test if anything tries to download."""
    hub = tmp_path / "hub"
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(hub))

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model registry must never download")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    return hub


def _forward_backward(model: nn.Module, shape: tuple[int, ...], num_classes: int, batch: int = 3) -> None:
    model.train()
    out = model(torch.randn(batch, *shape))
    assert out.shape == (batch, num_classes)
    out.square().mean().backward()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert trainable
    for name, param in trainable:
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name


def _saved_resnet18(path: Path) -> dict[str, torch.Tensor]:
    state = tvm.resnet18(weights=None).state_dict()
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return state


# ---- every family on every input shape it supports ------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(("family", "shape"), CASES, ids=[f"{f}-{'x'.join(map(str, s))}" for f, s in CASES])
def test_forward_and_backward(family: str, shape: tuple[int, ...]) -> None:
    model = build_model(ModelConfig(family=family, hidden_units=32, cnn_channels=8), shape, 5)
    _forward_backward(model, shape, 5)


@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu", "silu", "tanh", "leaky_relu", "elu"])
def test_mlp_activations_and_batch_norm(activation: str, batch_norm: bool) -> None:
    cfg = ModelConfig(family="mlp", hidden_layers=2, hidden_units=16, activation=activation, batch_norm=batch_norm)
    model = build_model(cfg, (64,), 3)
    assert any(isinstance(m, nn.BatchNorm1d) for m in model.modules()) == batch_norm
    _forward_backward(model, (64,), 3)


@pytest.mark.parametrize("pooling", ["max", "avg", "none"])
@pytest.mark.parametrize("blocks", [1, 2, 3, 4, 5, 6])
def test_cnn_any_depth_on_8x8_digits(blocks: int, pooling: str) -> None:
    cfg = ModelConfig(family="cnn", cnn_blocks=blocks, cnn_channels=4, pooling=pooling, batch_norm=True)
    model = build_model(cfg, (1, 8, 8), 10)
    _forward_backward(model, (1, 8, 8), 10)


def test_cnn_channels_double_each_block() -> None:
    model = build_model(ModelConfig(family="cnn", cnn_blocks=3, cnn_channels=8), (3, 32, 32), 4)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [8, 16, 32]


# ---- dropout ---------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("family", MODEL_FAMILIES)
def test_dropout_acts_in_train_mode_only(family: str) -> None:
    shape = (64,) if family == "mlp" else (3, 32, 32)
    model = build_model(ModelConfig(family=family, dropout=0.5, hidden_units=32, cnn_channels=8), shape, 4)
    x = torch.randn(4, *shape)
    with torch.no_grad():
        model.train()
        assert not torch.equal(model(x), model(x))
        model.eval()
        assert torch.equal(model(x), model(x))
    if family in TORCHVISION_MODELS:
        ps = {m.p for m in model.modules() if isinstance(m, nn.Dropout)}
        assert ps == {0.5}


@pytest.mark.parametrize("family", ["mlp", "cnn", "resnet18", "mobilenet_v3_small"])
def test_no_dropout_means_deterministic_training_forward(family: str) -> None:
    # efficientnet is left out: its stochastic depth is random in train mode regardless of dropout.
    shape = (64,) if family == "mlp" else (3, 32, 32)
    model = build_model(ModelConfig(family=family, dropout=0.0, hidden_units=32, cnn_channels=8), shape, 4)
    x = torch.randn(4, *shape)
    model.train()
    with torch.no_grad():
        assert torch.equal(model(x), model(x))


# ---- counts and summaries --------------------------------------------------------------------------
def test_count_parameters_matches_hand_count() -> None:
    model = build_model(ModelConfig(family="mlp", hidden_layers=1, hidden_units=3, dropout=0.0), (4,), 2)
    assert count_parameters(model) == 4 * 3 + 3 + 3 * 2 + 2
    model.head.weight.requires_grad_(False)
    assert count_parameters(model, trainable_only=True) == 4 * 3 + 3 + 2


@pytest.mark.parametrize("family", MODEL_FAMILIES)
def test_describe_model_matches_build(family: str) -> None:
    shape = (64,) if family == "mlp" else (1, 28, 28)
    cfg = ModelConfig(family=family)
    info = describe_model(cfg, shape, 10)
    model = build_model(cfg, shape, 10)
    assert isinstance(info, ModelInfo)
    assert info.param_count == info.trainable_count == count_parameters(model)
    assert f"total parameters: {info.param_count:,}" in info.summary


def test_describe_pretrained_counts_frozen_head_without_reading_weights(hub_dir: Path) -> None:
    cfg = ModelConfig(family="resnet18", pretrained=True, freeze_backbone=True)
    info = describe_model(cfg, (3, 32, 32), 10)  # no weights file exists: describing must not need it
    assert info.trainable_count == 512 * 10 + 10
    _saved_resnet18(hub_dir / "checkpoints" / RESNET_FILE)
    model = build_model(cfg, (3, 32, 32), 10)
    assert info.param_count == count_parameters(model)
    assert info.trainable_count == count_parameters(model, trainable_only=True)


def test_model_summary_lists_children_and_restores_mode() -> None:
    model = build_model(ModelConfig(family="cnn", cnn_blocks=2, cnn_channels=4), (1, 8, 8), 10)
    model.train()
    text = model_summary(model, (1, 8, 8))
    assert model.training
    lines = text.splitlines()
    assert lines[1].split()[:3] == ["block1", "Sequential", "(4,"]
    assert any(line.startswith("head") and "(10,)" in line for line in lines)
    assert lines[-2] == f"total parameters: {count_parameters(model):,}"
    assert lines[-1].startswith("trainable parameters: ")


# ---- bad combinations ------------------------------------------------------------------------------
@pytest.mark.parametrize("family", ["cnn", *TORCHVISION_MODELS])
def test_tabular_input_to_image_models_is_a_model_error(family: str) -> None:
    with pytest.raises(ModelError, match="image data.*mlp"):
        build_model(ModelConfig(family=family), (64,), 3)
    with pytest.raises(ModelError, match="mlp"):
        describe_model(ModelConfig(family=family), (64,), 3)


@pytest.mark.parametrize(
    ("cfg", "shape", "classes", "match"),
    [
        (ModelConfig(), (64,), 1, "at least 2 classes"),
        (ModelConfig(), (64,), 0, "at least 2 classes"),
        (ModelConfig(), (0, 4), 3, "at least 1"),
    ],
)
def test_bad_settings_are_model_errors(cfg: ModelConfig, shape: tuple[int, ...], classes: int, match: str) -> None:
    with pytest.raises(ModelError, match=match):
        build_model(cfg, shape, classes)


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"family": "cnn", "kernel_size": 4}, "kernel_size"),
        ({"activation": "swish"}, "activation"),
        ({"family": "transformer"}, "family"),
        ({"dropout": 1.0}, "dropout"),
        ({"family": "resnet18", "freeze_backbone": True}, "freeze_backbone"),
    ],
)
def test_bad_model_settings_cannot_be_built(fields: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):  # a ModelConfig is valid by construction
        ModelConfig(**fields)


# ---- pretrained weights ----------------------------------------------------------------------------
@pytest.mark.parametrize("family", TORCHVISION_MODELS)
def test_missing_pretrained_weights_name_the_file_and_never_download(hub_dir: Path, family: str) -> None:
    expected = hub_dir / "checkpoints" / Path(urllib.parse.urlparse(_url(family)).path).name
    assert pretrained_weights_path(family) == expected
    with pytest.raises(ModelError) as info:
        build_model(ModelConfig(family=family, pretrained=True), (3, 32, 32), 10)
    message = str(info.value)
    assert str(expected) in message and expected.name in message


def test_missing_explicit_weights_path_names_it(hub_dir: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "weights.pth"
    assert pretrained_weights_path("resnet18", str(missing)) == missing
    with pytest.raises(ModelError, match="weights.pth") as info:
        build_model(ModelConfig(family="resnet18", pretrained=True, weights_path=str(missing)), (3, 32, 32), 10)
    assert str(missing) in str(info.value) and RESNET_FILE in str(info.value)


def test_pretrained_weights_path_rejects_families_without_weights() -> None:
    with pytest.raises(ModelError, match="resnet18"):
        pretrained_weights_path("mlp")


@pytest.mark.slow
def test_pretrained_resnet18_loads_backbone_and_freezes_it(hub_dir: Path) -> None:
    saved = _saved_resnet18(hub_dir / "checkpoints" / RESNET_FILE)
    cfg = ModelConfig(family="resnet18", pretrained=True, freeze_backbone=True, dropout=0.3)
    model = build_model(cfg, (3, 32, 32), 7)
    state = model.state_dict()
    for key in ("conv1.weight", "layer1.0.conv1.weight", "layer4.1.conv2.weight", "layer2.0.bn1.running_var"):
        assert torch.equal(state[key], saved[key]), key
    assert isinstance(model.maxpool, nn.Identity) and model.conv1.stride == (1, 1)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"fc.1.weight", "fc.1.bias"}
    assert model.fc[1].out_features == 7 and model.fc[0].p == 0.3
    _forward_backward(model, (3, 32, 32), 7)


@pytest.mark.slow
def test_pretrained_resnet18_from_weights_path_averages_rgb_into_one_channel(tmp_path: Path, hub_dir: Path) -> None:
    path = tmp_path / "my-resnet.pth"
    saved = _saved_resnet18(path)
    model = build_model(ModelConfig(family="resnet18", pretrained=True, weights_path=str(path)), (1, 28, 28), 10)
    expected = saved["conv1.weight"].mean(dim=1, keepdim=True) * 3
    assert torch.allclose(model.conv1.weight, expected)
    assert torch.equal(model.layer3[0].conv1.weight, saved["layer3.0.conv1.weight"])
    assert all(p.requires_grad for p in model.parameters())
    _forward_backward(model, (1, 28, 28), 10)


def test_corrupt_weights_file_is_a_model_error(tmp_path: Path, hub_dir: Path) -> None:
    path = tmp_path / "broken.pth"
    path.write_bytes(b"this is not a checkpoint")
    with pytest.raises(ModelError, match="broken.pth"):
        build_model(ModelConfig(family="resnet18", pretrained=True, weights_path=str(path)), (3, 32, 32), 10)


def test_checkpoint_that_would_run_code_is_refused(tmp_path: Path, hub_dir: Path) -> None:
    path = tmp_path / "pickled.pth"
    torch.save({"conv1.weight": torch.zeros(1), "extra": _Opaque()}, path)
    with pytest.raises(ModelError, match="pickled.pth"):
        build_model(ModelConfig(family="resnet18", pretrained=True, weights_path=str(path)), (3, 32, 32), 10)


def test_checkpoint_of_another_architecture_is_a_model_error(tmp_path: Path, hub_dir: Path) -> None:
    path = tmp_path / "mobilenet.pth"
    torch.save(tvm.mobilenet_v3_small(weights=None).state_dict(), path)
    with pytest.raises(ModelError, match="not a torchvision resnet18 ImageNet checkpoint"):
        build_model(ModelConfig(family="resnet18", pretrained=True, weights_path=str(path)), (3, 32, 32), 10)


class _Opaque:
    """An arbitrary object: unpickling it is what weights_only loading forbids."""


def _url(family: str) -> str:
    enums = {
        "resnet18": tvm.ResNet18_Weights,
        "mobilenet_v3_small": tvm.MobileNet_V3_Small_Weights,
        "efficientnet_b0": tvm.EfficientNet_B0_Weights,
    }
    return str(enums[family].DEFAULT.url)


def test_vision_batch_norms_track_statistics_at_the_usual_rate() -> None:
    """A short run must leave running statistics usable in eval mode (torchvision's mobilenet_v3 uses 0.01)."""
    for family in ("resnet18", "mobilenet_v3_small", "efficientnet_b0"):
        model = build_model(ModelConfig(family=family), (1, 8, 8), 10)
        momenta = {m.momentum for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)}
        assert momenta == {0.1}, family
