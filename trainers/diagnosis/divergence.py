"""The one rule that calls a loss diverged, shared by the training loop's guard and the diagnosis.

A loss that is not finite, or beyond EXPLODE_FACTOR times the chance-level loss ln(classes), means the weights
blew up: a model that predicts uniformly scores ln(classes), and healthy runs start near it and fall (even a
badly initialised first epoch stays within a few times it). Standard library only: the loop calls it every epoch.
"""

from __future__ import annotations

import math

EXPLODE_FACTOR = 10.0  # healthy first epochs stay near 1x chance level; 10x is far from any of them


def chance_loss(num_classes: int | None) -> float | None:
    """ln(classes), the cross-entropy of a uniform guess; None without a class count (or with one class)."""
    return math.log(num_classes) if num_classes is not None and num_classes > 1 else None


def beyond_limit(loss: float, scale: float | None) -> bool:
    """Not finite, or above EXPLODE_FACTOR x `scale` (a loss of a uniform guess, or another reference loss)."""
    if not math.isfinite(loss):
        return True
    return scale is not None and scale > 0 and loss > EXPLODE_FACTOR * scale


def loss_exploded(loss: float, num_classes: int | None) -> bool:
    """The rule on a classifier's loss: not finite, or beyond EXPLODE_FACTOR x ln(num_classes)."""
    return beyond_limit(loss, chance_loss(num_classes))


def chance_text(num_classes: int) -> str:
    """ "the chance-level loss 2.3 (ln 10)": how the guard and the diagnosis name the scale."""
    return f"the chance-level loss {math.log(num_classes):.3g} (ln {num_classes})"


def explosion_message(what: str, loss: float, epoch: int, num_classes: int | None) -> str:
    """Why the guard ended a run: the loss, where, and the limit it crossed."""
    if not math.isfinite(loss) or num_classes is None or num_classes < 2:
        return f"{what} became {loss} during epoch {epoch}"
    return (
        f"{what} reached {loss:.3g} in epoch {epoch}, {loss / math.log(num_classes):.3g}x {chance_text(num_classes)}"
        f" (the limit is {EXPLODE_FACTOR:g}x): the weights blew up"
    )
