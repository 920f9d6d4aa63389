"""Five bagging members trained together (vectorised) against the same five trained one after another, and
against torchensemble's BaggingClassifier, side by side in one run.

    python tests/bench/bench_ensembles.py [--rounds 5] [--epochs 20] [--threads 2] [--no-torchensemble]

Data: the bundled digits (1,257 training samples, 64 features; the test split scores the ensembles). Members:
a small MLP (one hidden layer of 64 units, dropout 0.1), Adam 1e-3 with weight decay 1e-4, batch 32, 20
epochs, each on its own bootstrap sample. "vectorised" is trainers.ensembles.member_fit.fit_members with
vectorise=True (stacked parameters, one vmapped forward, one backward and one optimizer step for all five);
"one after another" is the same call with vectorise=False, which trains each member with the engine's ordinary
training loop. Both evaluate every member on validation each epoch and keep its best weights. Rounds alternate
the two and medians are printed. The vectorised side steps its stacks with a fused Adam kernel, which the
ordinary loop does not use; the ratio against one-after-another training with fused Adam too is printed as well.
Then the whole job (trainers.api.run_ensemble: data, members, scoring, the stored trial and the ensemble file)
both ways, and torchensemble's BaggingClassifier on the same data, members, optimizer and epochs (`pip install
-e '.[bench]'` installs it; like TuneLab it draws a bootstrap sample per member, but it runs no validation and
keeps each member's last weights, so its timed work is lighter than TuneLab's job). Last, the
vectorised/one-after-another ratio for wider members, to show where stacking stops paying.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from trainers.api import EnsembleSettings, TrialStore, run_ensemble
from trainers.data import DatasetBundle, load_dataset
from trainers.ensembles import sequential_fit
from trainers.ensembles.member_fit import fit_members
from trainers.ensembles.member_plan import MemberPlan
from trainers.models import build_model
from trainers.spec.config import RunConfig
from trainers.spec.events import NullSink, RunControl
from trainers.training.optim import optimizer_for_groups, parameter_groups

MEMBERS = 5


def member_config(epochs: int, layers: int = 1, units: int = 64, batch: int = 32) -> RunConfig:
    return RunConfig().replace(
        **{
            "model.hidden_layers": layers,
            "model.hidden_units": units,
            "train.batch_size": batch,
            "train.epochs": epochs,
        }
    )


def bootstrap_plans(n: int, seed: int = 0) -> list[MemberPlan]:
    gen = torch.Generator().manual_seed(seed)
    return [MemberPlan(seed + k, torch.randint(0, n, (n,), generator=gen)) for k in range(MEMBERS)]


def time_fit(cfg: RunConfig, data: DatasetBundle, vectorise: bool, fused_apart: bool = False) -> float:
    plans = bootstrap_plans(len(data.train))
    original = sequential_fit.build_optimizer
    if fused_apart:  # the ordinary loop with the same fused Adam kernel the stacks use
        sequential_fit.build_optimizer = lambda o, model: optimizer_for_groups(  # type: ignore[assignment]
            o, parameter_groups(model, o.weight_decay), fast=True
        )
    try:
        t0 = time.perf_counter()
        fit_members(cfg, data, plans, torch.device("cpu"), sink=NullSink(), control=RunControl(), vectorise=vectorise)
        return time.perf_counter() - t0
    finally:
        sequential_fit.build_optimizer = original


def paired(cfg: RunConfig, data: DatasetBundle, rounds: int, fused_apart: bool = False) -> tuple[float, float]:
    """Median seconds of (vectorised, one after another), alternating which goes first; one warm-up round."""
    together, apart = [], []
    for r in range(rounds + 1):
        first, second = (True, False) if r % 2 else (False, True)
        a = time_fit(cfg, data, first, fused_apart)
        b = time_fit(cfg, data, second, fused_apart)
        if r:
            (together if first else apart).append(a)
            (apart if first else together).append(b)
    return statistics.median(together), statistics.median(apart)


def whole_job(cfg: RunConfig, data: DatasetBundle, vectorise: bool) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as folder, TrialStore(str(Path(folder) / "bench.db")) as store:
        settings = EnsembleSettings(method="bagging", members=MEMBERS, vectorise=vectorise)
        t0 = time.perf_counter()
        result = run_ensemble(settings, cfg, store=store, bundle=data)
        seconds = time.perf_counter() - t0
    assert result.status == "completed", result.message
    return seconds, result.ensemble.test_acc, result.ensemble.test_loss


class Member(nn.Module):
    """The same member architecture for torchensemble, which builds its estimators from a class."""

    def __init__(self, cfg: RunConfig, shape: tuple[int, ...], classes: int) -> None:
        super().__init__()
        self.net = build_model(cfg.model, shape, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def torchensemble_bagging(cfg: RunConfig, data: DatasetBundle) -> tuple[float, float, float] | None:
    try:
        from torchensemble import BaggingClassifier
    except ImportError:
        return None
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    model = BaggingClassifier(
        estimator=Member,
        n_estimators=MEMBERS,
        cuda=False,
        estimator_args={"cfg": cfg, "shape": data.input_shape, "classes": data.num_classes},
    )
    model.set_optimizer("Adam", lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay)
    loader = DataLoader(TensorDataset(data.train.x, data.train.y), batch_size=cfg.train.batch_size, shuffle=True)
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # it prints a line per logged batch
        model.fit(loader, epochs=cfg.train.epochs, log_interval=10**9, save_model=False)
    seconds = time.perf_counter() - t0
    with torch.no_grad():
        model.eval()
        probs = model.predict(data.test.x).double()  # the members' averaged probabilities
        acc = (probs.argmax(1) == data.test.y).double().mean().item()
        loss = -probs[torch.arange(len(data.test.y)), data.test.y].clamp_min(1e-12).log().mean().item()
    return seconds, acc, loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-torchensemble", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_dataset(RunConfig().data)
    cfg = member_config(args.epochs)
    print(
        f"digits: {len(data.train)} train / {len(data.val)} val / {len(data.test)} test; {MEMBERS} members "
        f"MLP 1×64, batch 32, {args.epochs} epochs, {args.threads} threads, medians of {args.rounds} rounds"
    )
    together, apart = paired(cfg, data, args.rounds)
    print(f"members trained: vectorised {together:.3f} s, one after another {apart:.3f} s")
    print(f"vectorised speed-up: {apart / together:.2f}x (target >= 3)")
    together_f, apart_f = paired(cfg, data, args.rounds, fused_apart=True)
    print(
        f"  against one after another with fused Adam too: {together_f:.3f} s vs {apart_f:.3f} s, "
        f"speed-up {apart_f / together_f:.2f}x"
    )
    jobs_v, jobs_s = [], []
    for _ in range(max(1, args.rounds // 2)):  # alternating, medians
        jobs_v.append(whole_job(cfg, data, True))
        jobs_s.append(whole_job(cfg, data, False))
    (_, acc_v, loss_v), (_, acc_s, loss_s) = jobs_v[-1], jobs_s[-1]  # every round trains the same members
    job_v, job_s = statistics.median(j[0] for j in jobs_v), statistics.median(j[0] for j in jobs_s)
    print(
        f"whole bagging job: vectorised {job_v:.3f} s (test acc {acc_v:.4f}, loss {loss_v:.4f}), one after "
        f"another {job_s:.3f} s (test acc {acc_s:.4f}, loss {loss_s:.4f}), speed-up {job_s / job_v:.2f}x"
    )
    te = None if args.no_torchensemble else torchensemble_bagging(cfg, data)
    if te is None:
        print("torchensemble: not run (pip install torchensemble)")
    else:
        diff = round(acc_v - te[1], 4) + 0.0  # no "-0.0000" for equal accuracies
        print(
            f"torchensemble BaggingClassifier: {te[0]:.3f} s (test acc {te[1]:.4f}, loss {te[2]:.4f}); "
            f"TuneLab's vectorised bagging job is {te[0] / job_v:.2f}x faster, test acc {diff:+.4f}"
        )
    for layers, units, batch in ((2, 64, 64), (2, 128, 64), (2, 256, 64)):
        wide = member_config(args.epochs, layers, units, batch)
        t, s = paired(wide, data, max(1, args.rounds // 2))
        print(
            f"  MLP {layers}×{units}, batch {batch}: vectorised {t:.3f} s, one after another {s:.3f} s, "
            f"speed-up {s / t:.2f}x"
        )


if __name__ == "__main__":
    main()
