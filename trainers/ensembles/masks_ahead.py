"""The next batch's dropout masks, drawn on a thread of their own while this batch trains.

Each member of a stack draws its masks from its own generator, in the order its own run would (that is what keeps
a stacked member equal to its ordinary run), so the draws cannot be merged into one call: for small models they
are a sixth of a stacked step. They depend on nothing but the generators and the batch's row count, so they can be
drawn a batch early. The guess is that the next batch is as long as the longest so far; when it is not (an epoch's
last, shorter batch), the generators are put back where they were and that batch's masks are drawn in place, so
every member still sees exactly the masks of its own run.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

import torch

Masks = tuple[torch.Tensor, ...]

_POOL: ThreadPoolExecutor | None = None  # one thread for every stack in the process: a draw is a millisecond


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(1, thread_name_prefix="tunelab-masks")
    return _POOL


class MasksAhead:
    def __init__(self, draw: Callable[[int], Masks], streams: Callable[[], list[torch.Generator]]) -> None:
        self._draw = draw
        self._streams = streams
        self._pending: Future[tuple[list[torch.Tensor], Masks]] | None = None
        self._pending_rows = 0
        self._longest = 0

    def take(self, rows: int) -> Masks:
        """This batch's masks (drawn ahead when the guess was right, here otherwise); starts the next batch's."""
        masks = self._settle(rows)
        if masks is None:
            masks = self._draw(rows)
        self._longest = max(self._longest, rows)
        self._start(self._longest)
        return masks

    def cancel(self) -> None:
        """Drop a draw ahead and put every generator back where it was before it: call before the streams or the
        rates change (a member leaving the stack, new rates)."""
        self._settle(None)

    def _start(self, rows: int) -> None:
        self._pending_rows = rows
        self._pending = _pool().submit(self._states_and_draw, rows)

    def _states_and_draw(self, rows: int) -> tuple[list[torch.Tensor], Masks]:
        states = [g.get_state() for g in self._streams()]
        return states, self._draw(rows)

    def _settle(self, rows: int | None) -> Masks | None:
        """The masks drawn ahead if they were drawn for `rows`; otherwise None, with the generators restored."""
        if self._pending is None:
            return None
        states, masks = self._pending.result()
        self._pending = None
        if rows == self._pending_rows:
            return masks
        for gen, state in zip(self._streams(), states):
            gen.set_state(state)
        return None
