"""A model written in the three forms an export folder holds: ONNX (torch.onnx's dynamo exporter, one file), a
torch.export program (.pt2) and the plain state dict. Each takes any batch size: the batch axis is symbolic.

TorchScript is deprecated upstream and is not used. Any failure of the exporters is one ExportError naming the
file and the exporter's first line, never their traceback."""

from __future__ import annotations

import io
import logging
import warnings
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from trainers.spec.errors import ExportError

ONNX_FILE = "model.onnx"
PT2_FILE = "model.pt2"
STATE_FILE = "model.pt"
INPUT_NAME = "input"
OUTPUT_NAME = "logits"
BATCH = "batch"
OPSET = 18  # the dynamo exporter's default opset: read by onnxruntime 1.16 and later


def _dynamic_batch() -> tuple[dict[int, Any]]:
    return ({0: torch.export.Dim(BATCH, min=1)},)


def _quietly(what: str, path: Path, work: Callable[[], Any]) -> Any:
    """Run an exporter with its progress lines and warnings kept off the user's console; its failure becomes an
    ExportError naming the file."""
    sink = io.StringIO()
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "onnxscript")]
    levels = [lg.level for lg in loggers]
    try:
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        with warnings.catch_warnings(), redirect_stdout(sink), redirect_stderr(sink):
            warnings.simplefilter("ignore")
            return work()
    except ExportError:
        raise
    except Exception as exc:  # the exporters raise many types; all mean "this model cannot be written so"
        text = str(exc).strip().splitlines()
        raise ExportError(f"{path.name}: {what} failed ({type(exc).__name__}: {text[0] if text else ''})") from None
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def write_onnx(model: nn.Module, example: torch.Tensor, path: Path, output_name: str = OUTPUT_NAME) -> Path:
    """`model` (eval mode, CPU) as one self-contained ONNX file (no external weights) taking (batch, *shape)."""

    def work() -> None:
        program = torch.onnx.export(
            model,
            (example,),
            dynamo=True,
            external_data=False,
            input_names=[INPUT_NAME],
            output_names=[output_name],
            dynamic_shapes=_dynamic_batch(),
            opset_version=OPSET,
            optimize=True,
            verbose=False,
        )
        if program is None:
            raise ExportError(f"{path.name}: the ONNX exporter returned no program")
        program.save(str(path), external_data=False)

    _quietly("the ONNX export (torch.onnx, dynamo)", path, work)
    return path


def write_exported_program(model: nn.Module, example: torch.Tensor, path: Path) -> Path:
    """`model` as a torch.export program (torch.export.load(path).module() runs it without TuneLab's code)."""

    def work() -> None:
        program = torch.export.export(model, (example,), dynamic_shapes=_dynamic_batch())
        torch.export.save(program, str(path))

    _quietly("torch.export", path, work)
    return path


def write_state_dict(model: nn.Module, path: Path) -> Path:
    """The weights alone, readable with torch.load(path, weights_only=True)."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    _quietly("saving the state dict", path, lambda: torch.save(state, str(path)))
    return path


def load_exported_program(path: Path) -> Callable[[torch.Tensor], torch.Tensor]:
    """The .pt2 program read back from its file, as a callable module (so the file itself is what is checked)."""
    return _quietly("loading the torch.export program", path, lambda: torch.export.load(str(path)).module())
