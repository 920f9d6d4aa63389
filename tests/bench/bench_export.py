"""Does every architecture TuneLab builds export, and how closely does ONNX Runtime follow torch? Each model family
(MLP, CNN with each activation and pooling, ResNet-18, MobileNetV3-Small, EfficientNet-B0), randomly initialised
with batch-norm statistics moved off their defaults as training would, is exported with the same code as
`tunelab export` (torch.onnx dynamo exporter, torch.export) and checked on random inputs. One line per model:
the largest logit difference of ONNX Runtime and of the .pt2 program against torch, label mismatches, and the
export's time.

    python tests/bench/bench_export.py [--families mlp,cnn,resnet18]

Not a pass/fail test (tests/test_export_*.py are): a table to read when torch, onnxscript or onnxruntime change.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from trainers.data.bundle import Split
from trainers.models import build_model
from trainers.spec.config import ModelConfig
from trainers.use.export_check import check_parity
from trainers.use.export_formats import write_exported_program, write_onnx

CASES = [
    (ModelConfig(family="mlp", activation="gelu", batch_norm=True, dropout=0.5), (7,), 3),
    (ModelConfig(family="mlp", activation="tanh"), (1, 8, 8), 10),
    (ModelConfig(family="mlp", activation="leaky_relu"), (5,), 2),
    (ModelConfig(family="cnn", activation="silu", pooling="avg", dropout=0.2), (3, 12, 12), 4),
    (ModelConfig(family="cnn", activation="elu", pooling="none", batch_norm=True), (1, 8, 8), 10),
    (ModelConfig(family="resnet18", dropout=0.2), (1, 64, 64), 3),
    (ModelConfig(family="mobilenet_v3_small", dropout=0.2), (3, 32, 32), 5),
    (ModelConfig(family="efficientnet_b0", dropout=0.2), (3, 32, 32), 5),
]


def _trained_like(model: torch.nn.Module) -> torch.nn.Module:
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            assert m.running_mean is not None and m.running_var is not None
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return model.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--families", default="", help="comma-separated families (default: all)")
    args = parser.parse_args()
    wanted = set(filter(None, args.families.split(",")))
    torch.manual_seed(0)
    torch.set_num_threads(1)
    print(f"{'family':<20}{'activation':<12}{'input':<14}{'onnx diff':>11}{'pt2 diff':>10}{'mismatch':>9}{'s':>6}")
    for cfg, shape, classes in CASES:
        if wanted and cfg.family not in wanted:
            continue
        model = _trained_like(build_model(cfg, shape, classes))
        split = Split(torch.randn(64, *shape), torch.zeros(64, dtype=torch.long))
        assert split.x is not None
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            write_exported_program(model, split.x[:2], Path(folder) / "model.pt2")
            write_onnx(model, split.x[:2], Path(folder) / "model.onnx")
            seconds = time.perf_counter() - start
            with torch.no_grad():
                check = check_parity(
                    lambda x, m=model: m(x).double().numpy(),
                    Path(folder) / "model.onnx",
                    Path(folder) / "model.pt2",
                    split,
                    "random",
                )
        print(
            f"{cfg.family:<20}{cfg.activation:<12}{str(shape):<14}{check.max_abs_diff:>11.2g}"
            f"{check.pt2_max_abs_diff:>10.2g}{check.label_mismatches:>9}{seconds:>6.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
