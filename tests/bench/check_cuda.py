"""End-to-end check of the engine on a CUDA GPU: each family trains on the digits set with and without
mixed precision, checkpoints written from the GPU load on the CPU, and a stop is honoured.

    python tests/bench/check_cuda.py

Prints one line per case and a final `cuda check: N passed, M failed` line; exits non-zero on a failure.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from trainers.api import run_training
from trainers.models import build_model
from trainers.spec.config import RunConfig
from trainers.spec.events import BatchEnded, FitStarted, ListSink, RunControl
from trainers.store import TrialStore
from trainers.training.checkpoints import load_checkpoint

CASES = [  # (family, amp, epochs, minimum validation accuracy)
    ("mlp", False, 20, 0.95),
    ("mlp", True, 20, 0.95),
    ("cnn", False, 15, 0.95),
    ("cnn", True, 15, 0.95),
    ("resnet18", True, 8, 0.80),
    ("mobilenet_v3_small", True, 8, 0.30),
    ("efficientnet_b0", True, 8, 0.30),
]


def check_case(store: TrialStore, family: str, amp: bool, epochs: int, floor: float) -> tuple[bool, str]:
    cfg = RunConfig().replace(
        **{"model.family": family, "train.amp": amp, "train.device": "cuda", "train.epochs": epochs}
    )
    sink = ListSink()
    r = run_training(cfg, sink=sink, store=store)
    started = sink.of(FitStarted)[0]
    ok = r.status == "completed" and started.device.startswith("cuda") and (r.best_val_acc or 0) >= floor
    state, _ = load_checkpoint(Path(store.get_trial(r.trial_id).checkpoint_best))
    cpu_model = build_model(cfg.model, (1, 8, 8), 10)
    cpu_model.load_state_dict(state)  # weights written from the GPU load on a CPU model
    ok = ok and all(t.device.type == "cpu" for t in state.values())
    return ok, (
        f"{family:20s} amp={str(amp):5s} status={r.status} val_acc={r.best_val_acc} "
        f"test_acc={r.test_acc} {r.seconds:.1f}s {r.message}"
    )


def check_stop(store: TrialStore) -> tuple[bool, str]:
    control = RunControl()

    class StopAtTen:
        after = 0

        def emit(self, event: object) -> None:
            if isinstance(event, BatchEnded):
                if control.stop_requested:
                    self.after += 1
                elif event.step == 10:
                    control.stop()

    sink = StopAtTen()
    r = run_training(
        RunConfig().replace(**{"train.device": "cuda", "train.epochs": 50}), sink=sink, control=control, store=store
    )
    return r.status == "stopped" and sink.after == 0, f"stop: status={r.status} batches after stop={sink.after}"


def main() -> int:
    if not torch.cuda.is_available():
        print("cuda check: no CUDA device here")
        return 2
    print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, bf16={torch.cuda.is_bf16_supported()}")
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp, TrialStore(str(Path(tmp) / "t.db")) as store:
        results = [check_case(store, *case) for case in CASES] + [check_stop(store)]
    for ok, line in results:
        print(("PASS " if ok else "FAIL ") + line)
        passed, failed = passed + ok, failed + (not ok)
    print(f"cuda check: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
