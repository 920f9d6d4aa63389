"""TuneLab engine: configs, data, models, the training loop and the trial store. Never imports Qt."""

import os

# Before any engine module imports torch: OpenMP reads this once, when it loads, and idle threads then sleep
# instead of spinning, so a run beside a busy process does not collapse (tests/bench/bench_threads.py).
# Scripts and tests that import the engine get it too; a value the user set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
