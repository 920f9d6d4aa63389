"""TuneLab desktop program (Qt). Reaches the engine only through trainers.api and the torch-free
trainers.spec (pyproject.toml's import contracts, checked by tests/test_boundaries.py)."""
