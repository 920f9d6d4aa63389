"""Preallocated, growing (x, y) storage for live curves.

Appending one point at a time to a Python list and converting it to numpy on every repaint costs
O(n) per frame; here a point lands in a preallocated float64 array and the array doubles when full,
so an append is amortised O(1) and a repaint hands pyqtgraph a zero-copy view.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


class GrowingBuffer:
    """Two float64 arrays (x, y) that grow by doubling; `version` changes whenever the data does."""

    def __init__(self, capacity: int = 1024) -> None:
        capacity = max(1, int(capacity))
        self._x = np.empty(capacity, dtype=np.float64)
        self._y = np.empty(capacity, dtype=np.float64)
        self._n = 0
        # A plot compares this counter with the one it last drew, to skip curves that did not change.
        self.version = 0
        # Curves are appended in x order almost always; knowing it lets the crosshair use a binary search.
        self._sorted = True

    # -- size -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._n

    @property
    def capacity(self) -> int:
        return int(self._x.shape[0])

    @property
    def x_sorted(self) -> bool:
        """True while the x values are non-decreasing (NaN never counts as sorted)."""
        return self._sorted

    def _reserve(self, needed: int) -> None:
        cap = self.capacity
        if needed <= cap:
            return
        while cap < needed:
            cap *= 2  # doubling keeps the number of reallocations logarithmic in the length
        for name in ("_x", "_y"):
            old = getattr(self, name)
            new = np.empty(cap, dtype=np.float64)
            new[: self._n] = old[: self._n]
            setattr(self, name, new)

    # -- changes ----------------------------------------------------------------------------
    def append(self, x: float, y: float) -> None:
        n = self._n
        self._reserve(n + 1)
        x = float(x)
        if self._sorted and not (n == 0 or x >= self._x[n - 1]):
            self._sorted = False
        self._x[n] = x
        self._y[n] = float(y)
        self._n = n + 1
        self.version += 1

    def extend(self, xs: Iterable[float] | np.ndarray, ys: Iterable[float] | np.ndarray) -> None:
        xa = np.asarray(xs if isinstance(xs, np.ndarray) else list(xs), dtype=np.float64).ravel()
        ya = np.asarray(ys if isinstance(ys, np.ndarray) else list(ys), dtype=np.float64).ravel()
        if xa.shape != ya.shape:
            raise ValueError(f"x and y must have the same length, got {xa.size} and {ya.size}")
        if xa.size == 0:
            return
        n = self._n
        self._reserve(n + xa.size)
        if self._sorted:
            head = xa if n == 0 else np.concatenate(([self._x[n - 1]], xa))
            self._sorted = bool(np.all(head[1:] >= head[:-1]))
        self._x[n : n + xa.size] = xa
        self._y[n : n + ya.size] = ya
        self._n = n + xa.size
        self.version += 1

    def clear(self) -> None:
        """Forget the points but keep the allocation: a restarted run refills the same memory."""
        self._n = 0
        self._sorted = True
        self.version += 1

    # -- views ------------------------------------------------------------------------------
    @property
    def x(self) -> np.ndarray:
        return self._view(self._x)

    @property
    def y(self) -> np.ndarray:
        return self._view(self._y)

    def _view(self, arr: np.ndarray) -> np.ndarray:
        view = arr[: self._n]
        # Read-only, so nobody edits points behind `version`'s back.
        view.flags.writeable = False
        return view
