"""Masks drawn a batch ahead equal the masks drawn in place, whatever the batch lengths and wherever a draw stops."""

from __future__ import annotations

from typing import Callable

import torch

from trainers.ensembles.masks_ahead import MasksAhead


def _drawer(gens: list[torch.Generator]) -> Callable[[int], tuple[torch.Tensor, ...]]:
    def draw(rows: int) -> tuple[torch.Tensor, ...]:
        return tuple(torch.empty(rows, 7).bernoulli_(0.6, generator=g) for g in gens)

    return draw


def _gens() -> list[torch.Generator]:
    return [torch.Generator().manual_seed(s) for s in (1, 2, 3)]


def test_masks_drawn_ahead_equal_masks_drawn_in_place_through_short_batches_and_a_cancel() -> None:
    rows = [5, 5, 3, 5, 5, 3, "cancel", 5, 2, 5]
    in_place, ahead_gens = _gens(), _gens()
    draw_in_place, ahead = _drawer(in_place), MasksAhead(_drawer(ahead_gens), lambda: ahead_gens)
    for r in rows:
        if r == "cancel":
            ahead.cancel()  # the draw made ahead is undone: the generators are where the last batch left them
            continue
        for a, b in zip(ahead.take(r), draw_in_place(r)):
            assert torch.equal(a, b)
    ahead.cancel()
    assert all(torch.equal(a.get_state(), b.get_state()) for a, b in zip(ahead_gens, in_place))


def test_a_wrong_guess_puts_the_generators_back() -> None:
    gens = _gens()
    ahead = MasksAhead(_drawer(gens), lambda: gens)
    ahead.take(4)  # draws 4 rows ahead
    before = [torch.Generator().set_state(g.get_state()) for g in _gens()]
    for g in before:
        torch.empty(4, 7).bernoulli_(0.6, generator=g)
    shorter = ahead.take(2)  # not 4 rows: drawn again in place from where the first batch left each generator
    for mask, g in zip(shorter, before):
        assert torch.equal(mask, torch.empty(2, 7).bernoulli_(0.6, generator=g))
