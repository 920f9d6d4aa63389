"""One optimizer over stacked members (StackedModels) in which every member has its own hyperparameters: its own
learning rate on its own schedule, weight decay, momentum or betas, epsilon, RMSprop alpha and Adagrad decay. Each
hyperparameter is a (K,) vector broadcast over the stacks, and the update is the arithmetic of torch's own
single-tensor optimizer (the one a training run uses on the CPU) with the member's value in place of the scalar, so a
member's slices move as its own optimizer would move them, to rounding.

What stays one value for the whole stack (the optimizer, Nesterov, AMSGrad, centred RMSprop) is checked equal.
Weight decay applies to the decayed stacks only (weights, not biases or normalisation layers), as in a training
run's two parameter groups. Reduce-on-plateau has no per-member form: members with it train on their own."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Callable

import torch

from trainers.spec.config import RunConfig
from trainers.spec.schedules import scheduled_lr
from trainers.training.loop import Callback, Learner

STACKED_OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad")
SHARED = ("name", "nesterov", "amsgrad", "centered")  # optimizer fields every member of a stack has alike

Tensors = dict[str, torch.Tensor]


class StackedOptimizer(torch.optim.Optimizer):
    def __init__(self, params: Mapping[str, torch.Tensor], decayed: Sequence[str], cfgs: Sequence[RunConfig]) -> None:
        optims = [c.optim for c in cfgs]
        for name in SHARED:
            if len({getattr(o, name) for o in optims}) > 1:
                raise ValueError(f"members trained together share optim.{name}")
        if optims[0].name not in STACKED_OPTIMIZERS:
            raise ValueError(f"no stacked form of {optims[0].name}")
        if any(c.schedule.name == "plateau" for c in cfgs):
            raise ValueError("reduce-on-plateau lowers each member's rate on its own: train those one at a time")
        super().__init__(list(params.values()), {"lr": optims[0].lr})
        self.cfgs = list(cfgs)
        self.kind = optims[0].name
        self.names = list(params)
        self.decayed = set(decayed)
        self.member_lrs = [o.lr for o in optims]
        self.moments: dict[str, Tensors] = {n: {} for n in self.names}
        self.steps = {n: 0 for n in self.names}  # per stack, as torch counts per parameter
        self._step: Tensors = {}  # this step's vectors (_per_step)
        self._step_t, self._lrs_used = 0, self.member_lrs
        self._columns: dict[tuple[str, int], torch.Tensor] = {}
        self._vectors = self._constant_vectors()

    # ---- hyperparameters ----------------------------------------------------------------
    def _constant_vectors(self) -> Tensors:
        """Each member's fixed hyperparameters as (K,) vectors on the stacks' device."""
        o = [c.optim for c in self.cfgs]
        device = self.param_groups[0]["params"][0].device
        values = {
            "wd": [x.weight_decay for x in o],
            "momentum": [x.momentum for x in o],
            "one_minus_beta1": [1 - x.beta1 for x in o],
            "beta2": [x.beta2 for x in o],
            "one_minus_beta2": [1 - x.beta2 for x in o],
            "eps": [x.eps for x in o],
            "alpha": [x.alpha for x in o],
            "one_minus_alpha": [1 - x.alpha for x in o],
        }
        self._decays = any(x.weight_decay != 0 for x in o)
        self._momentum = any(x.momentum != 0 for x in o)
        still = [x.momentum == 0 for x in o]  # members without momentum beside members with it
        self._still = torch.tensor(still, device=device) if self._momentum and any(still) else None
        return {k: torch.tensor(v, dtype=torch.float32, device=device) for k, v in values.items()}

    def _col(self, name: str, like: torch.Tensor) -> torch.Tensor:
        """The (K,) vector `name` (fixed, or this step's) shaped (K, 1, ...) to broadcast over a stack like `like`."""
        key = (name, like.dim())
        col = self._columns.get(key)
        if col is None:
            vector = self._vectors[name] if name in self._vectors else self._step[name]
            col = self._columns[key] = vector.view(-1, *([1] * (like.dim() - 1)))
        return col

    def schedule(self, step: int, steps_per_epoch: int) -> None:
        """Each member's learning rate for the 0-based optimizer `step`, from its own config's schedule."""
        self.member_lrs = [scheduled_lr(c, step, steps_per_epoch) for c in self.cfgs]
        self.param_groups[0]["lr"] = self.member_lrs[0]  # what Learner.lr reads; members read member_lrs

    def keep(self, rows: list[int], params: Mapping[str, torch.Tensor]) -> None:
        """Keep only the members at `rows`; `params` are the stacks that now hold them (StackedModels.keep)."""
        index = torch.tensor(rows, dtype=torch.long, device=self._vectors["wd"].device)
        self.cfgs = [self.cfgs[r] for r in rows]
        self.member_lrs = [self.member_lrs[r] for r in rows]
        self.moments = {n: {k: v[index] for k, v in m.items()} for n, m in self.moments.items()}
        self.param_groups[0]["params"] = [params[n] for n in self.names]
        self._columns.clear()
        self._vectors = self._constant_vectors()
        self._step_t = 0

    # ---- the step -----------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.param_groups[0]["params"]:
            p.grad = None

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> None:  # type: ignore[override]
        live = [(n, p) for n, p in zip(self.names, self.param_groups[0]["params"]) if p.grad is not None]
        for name, _ in live:
            self.steps[name] += 1
        if self.kind in ("adam", "adamw"):  # the stacks at each step count together (normally all of them)
            for t in sorted({self.steps[name] for name, _ in live}):
                self._per_step(t)
                self._adam_all([(name, p) for name, p in live if self.steps[name] == t])
            return None
        update = getattr(self, f"_{self.kind}")
        for name, p in live:
            decayed = self._decays and name in self.decayed
            self._per_step(self.steps[name])
            update(p, self._decayed_grad(p, decayed), self.moments[name], decayed)
        return None

    def _per_step(self, t: int) -> None:
        """Step t's (K,) vectors: learning rates, Adam's bias-corrected step and AdamW's shrink, Adagrad's rate
        (worked out once for every stack at that step)."""
        if self._step_t == t and self._lrs_used is self.member_lrs:
            return
        o = [c.optim for c in self.cfgs]
        lrs = self.member_lrs
        rows = {
            "lr": lrs,
            "neg_lr": [-lr for lr in lrs],
            "neg_step": [-lr / (1 - x.beta1**t) for lr, x in zip(lrs, o)],
            "bc2_sqrt": [(1 - x.beta2**t) ** 0.5 for x in o],
            "shrink": [1 - lr * x.weight_decay for lr, x in zip(lrs, o)],
            "neg_clr": [-lr / (1 + (t - 1) * x.lr_decay) for lr, x in zip(lrs, o)],
        }
        table = torch.tensor(list(rows.values()), dtype=torch.float32, device=self._vectors["wd"].device)
        self._step = dict(zip(rows, table))
        self._columns = {key: col for key, col in self._columns.items() if key[0] in self._vectors}
        self._step_t, self._lrs_used = t, lrs

    def _decayed_grad(self, p: torch.Tensor, decayed: bool) -> torch.Tensor:
        """The gradient with L2 weight decay added (not AdamW's, which shrinks the weights in its update)."""
        assert p.grad is not None
        if not decayed or self.kind == "adamw":
            return p.grad
        return torch.addcmul(p.grad, p, self._col("wd", p))

    def _sgd(self, p: torch.Tensor, g: torch.Tensor, state: Tensors, decayed: bool) -> None:
        if self._momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = g.detach().clone()
            else:
                buf.mul_(self._col("momentum", p)).add_(g)
            g = torch.addcmul(g, buf, self._col("momentum", p)) if self.cfgs[0].optim.nesterov else buf
        p.addcmul_(g, self._col("lr", p), value=-1)

    def _adam_all(self, live: list[tuple[str, torch.Tensor]]) -> None:
        """Adam's (and AdamW's) update of the given stacks at once, as torch's single-tensor Adam computes it, through
        torch's foreach ops (on the CPU a foreach op runs the plain op per tensor), in a tenth of the Python calls,
        which is what a step of small stacked models spends most of its time on."""
        ps = [p for _, p in live]
        decayed = [self._decays and name in self.decayed for name, _ in live]
        grads: list[torch.Tensor] = [p.grad for p in ps]  # type: ignore[misc]
        if self.kind == "adam" and any(decayed):
            grads = [self._decayed_grad(p, d) for p, d in zip(ps, decayed)]
        moments = [_zeros(self.moments[name], p, "exp_avg", "exp_avg_sq") for name, p in live]
        exp_avgs, exp_avg_sqs = [m[0] for m in moments], [m[1] for m in moments]
        if self.kind == "adamw" and any(decayed):
            shrunk = [p for p, d in zip(ps, decayed) if d]
            torch._foreach_mul_(shrunk, self._cols("shrink", shrunk))
        torch._foreach_lerp_(exp_avgs, grads, self._cols("one_minus_beta1", ps))
        torch._foreach_mul_(exp_avg_sqs, self._cols("beta2", ps))
        torch._foreach_addcmul_(exp_avg_sqs, grads, torch._foreach_mul(grads, self._cols("one_minus_beta2", ps)))
        second = exp_avg_sqs
        if self.cfgs[0].optim.amsgrad:
            second = [_zeros(self.moments[name], p, "max_exp_avg_sq")[0] for name, p in live]
            torch._foreach_maximum_(second, exp_avg_sqs)
        denom = torch._foreach_sqrt(second)
        torch._foreach_div_(denom, self._cols("bc2_sqrt", ps))
        torch._foreach_add_(denom, self._cols("eps", ps))
        torch._foreach_addcdiv_(ps, torch._foreach_mul(exp_avgs, self._cols("neg_step", ps)), denom)

    def _cols(self, name: str, like: list[torch.Tensor]) -> list[torch.Tensor]:
        return [self._col(name, p) for p in like]

    def _rmsprop(self, p: torch.Tensor, g: torch.Tensor, state: Tensors, decayed: bool) -> None:
        (square_avg,) = _zeros(state, p, "square_avg")
        square_avg.mul_(self._col("alpha", p)).addcmul_(g, g * self._col("one_minus_alpha", p))
        if self.cfgs[0].optim.centered:
            (grad_avg,) = _zeros(state, p, "grad_avg")
            grad_avg.lerp_(g, self._col("one_minus_alpha", p))
            avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
        else:
            avg = square_avg.sqrt()
        avg.add_(self._col("eps", p))
        if not self._momentum:
            p.addcdiv_(g * self._col("neg_lr", p), avg)
            return
        (buf,) = _zeros(state, p, "momentum_buffer")
        buf.mul_(self._col("momentum", p)).addcdiv_(g, avg)
        if self._still is None:
            p.addcmul_(buf, self._col("lr", p), value=-1)
            return
        # members without momentum step as torch's RMSprop steps them (another formula, other roundings)
        plain = torch.addcdiv(p, g * self._col("neg_lr", p), avg)
        p.addcmul_(buf, self._col("lr", p), value=-1)
        torch.where(self._still.view(-1, *([1] * (p.dim() - 1))), plain, p, out=p)

    def _adagrad(self, p: torch.Tensor, g: torch.Tensor, state: Tensors, decayed: bool) -> None:
        (state_sum,) = _zeros(state, p, "sum")
        state_sum.addcmul_(g, g, value=1)
        std = state_sum.sqrt().add_(self._col("eps", p))
        p.addcdiv_(g * self._col("neg_clr", p), std)


def _zeros(state: Tensors, like: torch.Tensor, *names: str) -> list[torch.Tensor]:
    """The named moments of a stack, zero the first time (as torch's optimizers start them)."""
    out = []
    for name in names:
        if name not in state:
            state[name] = torch.zeros_like(like, memory_format=torch.preserve_format)
        out.append(state[name])
    return out


class MemberSchedule(Callback):
    """Sets each member's learning rate before every batch from its own config's schedule (ScheduleCallback's
    per-member form, for a Learner whose optimizer is a StackedOptimizer)."""

    order = -10

    def before_batch(self, learner: Learner) -> None:
        optimizer: Any = learner.optimizer
        optimizer.schedule(learner.step - 1, learner.steps_per_epoch)
