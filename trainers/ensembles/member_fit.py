"""Train new members: together as one vectorised model where they can be, else one after another."""

from __future__ import annotations

import torch

from trainers.data.bundle import DatasetBundle
from trainers.ensembles.member_plan import FittedMember, MemberPlan
from trainers.ensembles.sequential_fit import fit_one_by_one
from trainers.ensembles.stacked_fit import fit_stacked
from trainers.ensembles.stacked_models import VMAPPABLE
from trainers.spec.config import RunConfig
from trainers.spec.events import RunControl, Sink


def can_vectorise(cfg: RunConfig, data: DatasetBundle, members: int, device: torch.device | None = None) -> bool:
    """Several members of a family vmap can batch, on a training split held in memory, with nothing that would
    make a member trained together differ from the same member trained alone: reduce-on-plateau (it lowers one
    member's rate on its own validation loss, and stacked members share one rate) and mixed precision (the
    ordinary loop's autocast and gradient scaler) train one after another."""
    if cfg.schedule.name == "plateau" or (cfg.train.amp and device is not None and device.type == "cuda"):
        return False
    return members > 1 and cfg.model.family in VMAPPABLE and data.train.in_memory


def fit_members(
    cfg: RunConfig,
    data: DatasetBundle,
    plans: list[MemberPlan],
    device: torch.device,
    *,
    sink: Sink,
    control: RunControl,
    vectorise: bool,
    first: int = 0,
) -> list[FittedMember]:
    """One FittedMember per plan (fewer when a stop request ended the series early)."""
    if vectorise and can_vectorise(cfg, data, len(plans), device):
        return fit_stacked(cfg, data, plans, device, sink=sink, control=control, first=first)
    if all(p.plain for p in plans):
        return fit_one_by_one(cfg, data, plans, device, sink=sink, control=control, first=first)
    fitted: list[FittedMember] = []
    for k, plan in enumerate(plans):  # weighted or regression members, each on its own
        fitted += fit_stacked(cfg, data, [plan], device, sink=sink, control=control, first=first + k)
        if fitted[-1].status == "stopped":
            break
    return fitted
