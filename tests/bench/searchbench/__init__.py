"""The parts of tests/bench/bench_search.py: the plain Optuna + PyTorch reference, the data, and one module per
measure."""
