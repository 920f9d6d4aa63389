"""Reports a member's finished epochs to the job's sink (MemberProgress)."""

from __future__ import annotations

from trainers.spec.ensemble_events import MemberProgress
from trainers.spec.events import Sink
from trainers.training.loop import Callback, Learner
from trainers.training.recording import finite_or_none as finite


def progress(
    member: int, epoch: int, epochs: int, train_loss: float, val_loss: float | None, val_acc: float | None
) -> MemberProgress:
    return MemberProgress(member, epoch, epochs, float(train_loss), finite(val_loss), val_acc)


class MemberEventCallback(Callback):
    """The ordinary loop's epochs, as one member's progress."""

    order = 16

    def __init__(self, sink: Sink, member: int) -> None:
        self.sink = sink
        self.member = member

    def after_epoch(self, learner: Learner) -> None:
        val = learner.val
        self.sink.emit(
            progress(
                self.member,
                learner.epoch,
                learner.settings.epochs,
                learner.train_loss,
                val.loss if val else None,
                val.acc if val else None,
            )
        )
