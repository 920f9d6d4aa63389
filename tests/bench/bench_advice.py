"""Is TuneLab's advice right by measured outcome? Learning-rate suggestions, diagnoses and ensembles, measured on
the bundled digits, five real public tables (tests/bench/tables/, attribution in its README) and two generated
ones, and printed as one summary line per measure after the details.

    python tests/bench/bench_advice.py [--store PATH] [--sections lr,diagnosis,ensembles] [--tables a,b] [--seeds 3]

- lr: the regret of each learning-rate rule (TuneLab's headline and its other suggestions, torch-lr-finder's
  steepest gradient, fastai's valley) against the best of an eight-point grid, at 3, 5 and 20 epochs, over the
  seeds; the noise floor is the regret of choosing the grid's rate by validation accuracy.
- diagnosis: labelled runs per table (learning rate far too high, far too low, overfitting, good fit,
  capacity-limited): the confusion table, and the outcome of applying each run's top intervention.
- ensembles: greedy selection, voting and stacking over every stored trial on the table, against its best and
  mean member, on test.

Every run is kept in the trial store (default: a file in the temporary folder), so a second run of the benchmark
reads them back and only trains what is new; --store picks another file. One torch thread per run: the numbers
are accuracies, not timings, so a busy machine changes how long it takes, not what it prints.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from advice.runs import Runs
from advice.tables import GENERATED, REAL, SEEDS

SECTIONS = ("lr", "diagnosis", "ensembles")


def _section(name: str):
    if name == "lr":
        from advice import lr_section as module
    elif name == "diagnosis":
        from advice import diagnosis_section as module
    else:
        from advice import ensemble_section as module
    return module


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--store", default=str(Path(tempfile.gettempdir()) / "tunelab_bench_advice.db"))
    p.add_argument("--sections", default=",".join(SECTIONS))
    p.add_argument("--tables", default=",".join(REAL + GENERATED))
    p.add_argument("--seeds", type=int, default=len(SEEDS))
    args = p.parse_args()
    torch.set_num_threads(1)
    tables, seeds = args.tables.split(","), tuple(range(args.seeds))
    runs = Runs(args.store)
    summary: list[str] = []
    started = time.perf_counter()
    try:
        for name in args.sections.split(","):
            t0 = time.perf_counter()
            lines = _section(name).measure(runs, tables, seeds, lambda s: print(s, flush=True))
            print(f"[{name}: {time.perf_counter() - t0:.0f} s]", flush=True)
            summary += lines
    finally:
        runs.close()
    print(
        f"\n== summary ({len(tables)} tables: {', '.join(tables)}; {len(seeds)} seeds; {runs.trained} runs trained, "
        f"the rest read from {args.store}; {time.perf_counter() - started:.0f} s)"
    )
    for line in summary:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
