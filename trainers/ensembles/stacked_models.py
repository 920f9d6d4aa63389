"""K models of one architecture as one: parameters stacked along a new first axis and a forward pass vmapped
over it (torch.func), so one call, one backward and one optimizer step serve every member. Models made only of
layers with a batched form (MLPs) skip vmap: the same operations run on the stacks directly (stacked_program.py).

With K = 1 the model is called directly (any architecture works, vmap or not).
"""

from __future__ import annotations

import copy
from typing import Callable

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from trainers.ensembles.layer_program import layer_program, run_program, sample_shapes
from trainers.ensembles.masks_ahead import MasksAhead
from trainers.ensembles.stacked_program import batched_program, run_batched
from trainers.spec.config import OptimConfig
from trainers.training.loop import train_mode
from trainers.training.optim import decayed_names, named_groups, optimizer_for_groups

# Families whose forward pass runs under vmap (plain layers, batch norm with stacked buffers, dropout with a
# mask per member); torchvision models are trained one after another instead.
VMAPPABLE = ("mlp", "cnn")


class StackedModels:
    def __init__(self, models: list[nn.Module]) -> None:
        if not models:
            raise ValueError("no models to stack")
        self.k = len(models)
        self._template = models[0]
        self._state_names = tuple(models[0].state_dict())  # asking a module for its state dict costs a walk of it
        self.decay, self.no_decay = decayed_names(models[0])
        self._ahead = MasksAhead(self._draw, lambda: self._streams or [])
        if self.k == 1:
            self._single: nn.Module | None = models[0]
            self.params: dict[str, torch.Tensor] = dict(models[0].named_parameters())
            self.buffers = dict(models[0].named_buffers())
            return
        self._single = None
        params, buffers = stack_module_state(models)
        self.params = params  # leaves with requires_grad, shape (K, ...)
        self.buffers = buffers
        self._base = copy.deepcopy(models[0]).to("meta")  # the architecture only: weights come from the stacks
        self._program = layer_program(self._base)
        self._batched = batched_program(self._base) if self._program is not None else None
        self._names = (tuple(self.params), tuple(self.buffers))
        self._streams: list[torch.Generator] | None = None  # each member's own random stream, for dropout masks
        self._rates: list[float] | None = None  # each member's own dropout rate (None: each site's own)
        self._scale: torch.Tensor | None = None  # each member's 1 / (1 - rate)
        self._masked: Callable | None = None
        # without a program (or streams), vmap draws a dropout mask per member itself
        self._each = vmap(self._call, randomness="different")
        self._shared = vmap(self._call, in_dims=(0, 0, None), randomness="different")

    def follow_streams(self, states: list[torch.Tensor]) -> None:
        """Draw member k's dropout masks from a generator in state states[k]: the state of the global generator
        after member k was built, which is where its ordinary training run would draw them from."""
        if self._single is None:
            self._ahead.cancel()
            self._streams = [torch.Generator().set_state(state) for state in states]

    def _masks(self, x: torch.Tensor) -> tuple[tuple[str, ...], tuple[torch.Tensor, ...]]:
        """This batch's dropout masks, (K, B, ...) per site, drawn member by member as F.dropout draws them."""
        program = self._program
        if program is None or not program.dropout or self._streams is None or not self._base.training:
            return (), ()
        if any(site.shape is None for site in program.dropout):
            sample_shapes(program, self._base, tuple(x.shape[2:]))
        masks = self._ahead.take(x.shape[1])
        return tuple(site.key for site in program.dropout), tuple(m.to(x.device) for m in masks)

    def _draw(self, rows: int) -> tuple[torch.Tensor, ...]:
        """`rows` rows of every site's masks (CPU), each member's drawn from its own stream."""
        assert self._program is not None and self._streams is not None
        masks = []
        for site in self._program.dropout:  # each stream still draws its sites in forward order
            mask = torch.empty((self.k, rows, *site.shape))  # type: ignore[misc]
            if self._rates is None:
                for k, gen in enumerate(self._streams):
                    mask[k].bernoulli_(1 - site.p, generator=gen)
                mask.div_(1 - site.p)
            else:
                for k, (gen, p) in enumerate(zip(self._streams, self._rates)):
                    if p > 0:
                        mask[k].bernoulli_(1 - p, generator=gen)
                    else:  # F.dropout with p = 0 draws nothing: the stream stays where the member's own run has it
                        mask[k].fill_(1.0)
                mask.mul_(self._scales(mask.dim()))
            masks.append(mask)
        return tuple(masks)

    def _scales(self, dims: int) -> torch.Tensor:
        """Each member's 1 / (1 - p) shaped to broadcast over its masks: the float32 division F.dropout makes (a kept
        unit is 1, so 1 * 1/(1-p) is exactly its 1/(1-p))."""
        assert self._rates is not None
        if self._scale is None:
            keep = torch.tensor([1 - p for p in self._rates], dtype=torch.float32)
            self._scale = torch.ones_like(keep) / keep
        return self._scale.view(-1, *([1] * (dims - 1)))

    def set_dropout_rates(self, rates: list[float]) -> None:
        """Member k drops with probability rates[k] at every dropout site (the models were built with a rate above 0
        wherever any member has one, so every site is there; a member whose rate is 0 keeps everything)."""
        if len(rates) != self.k:
            raise ValueError(f"{len(rates)} dropout rates for {self.k} members")
        self._ahead.cancel()
        self._rates = [float(r) for r in rates]
        self._scale = None

    def keep(self, rows: list[int]) -> None:
        """Keep only the members at `rows` (in that order): the rest leave the stack and cost nothing more. The
        stacks are new tensors: an optimizer over the old ones is told the same rows (StackedOptimizer.keep)."""
        if self._single is not None:
            raise ValueError("a stack of one member cannot drop members")
        self._ahead.cancel()
        index = torch.tensor(rows, dtype=torch.long, device=next(iter(self.params.values())).device)
        self.params = {n: p.detach()[index].requires_grad_(p.requires_grad) for n, p in self.params.items()}
        self.buffers = {n: b[index] for n, b in self.buffers.items()}
        if self._streams is not None:
            self._streams = [self._streams[r] for r in rows]
        if self._rates is not None:
            self._rates = [self._rates[r] for r in rows]
            self._scale = None
        self.k = len(rows)

    def _call(self, params: tuple, buffers: tuple, x: torch.Tensor, mask_keys: tuple = ()) -> torch.Tensor:
        # tuples rather than dicts: vmap flattens its inputs on every call, and tuples flatten fastest
        p = dict(zip(self._names[0], params))
        b = dict(zip(self._names[1] + mask_keys, buffers))
        if self._program is not None:
            return run_program(self._program, p, b, x)
        return functional_call(self._base, (p, b), (x,))

    def train(self, mode: bool = True) -> None:
        """Training mode as the ordinary loop sets it (frozen batch norms stay in eval mode), or eval mode."""
        model = self._single or self._base
        if mode:
            train_mode(model)
        else:
            model.eval()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """x: (K, B, ...) a batch per member → (K, B, classes)."""
        if self._single is not None:
            return self._single(x[0]).unsqueeze(0)
        keys, masks = self._masks(x)
        if self._batched_ready():
            assert self._batched is not None
            return run_batched(self._batched, self.params, {**self.buffers, **dict(zip(keys, masks))}, x)
        if not keys:
            return self._each(tuple(self.params.values()), tuple(self.buffers.values()), x)
        if self._masked is None:  # the sites never change: one vmapped function for every batch

            def masked(p: tuple, b: tuple, xb: torch.Tensor) -> torch.Tensor:
                return self._call(p, b, xb, keys)

            self._masked = vmap(masked, randomness="different")
        return self._masked(tuple(self.params.values()), tuple(self.buffers.values()) + masks, x)

    def shared(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, ...) one batch every member sees (evaluation) → (K, B, classes)."""
        if self._single is not None:
            return self._single(x).unsqueeze(0)
        if self._batched_ready():
            assert self._batched is not None
            return run_batched(self._batched, self.params, self.buffers, x.expand(self.k, *x.shape))
        return self._shared(tuple(self.params.values()), tuple(self.buffers.values()), x)

    def _batched_ready(self) -> bool:
        """The batched path needs each member's masks drawn from its stream (vmap draws them itself otherwise)."""
        program = self._program
        return self._batched is not None and program is not None and (self._streams is not None or not program.dropout)

    def parameters(self) -> list[torch.Tensor]:
        return list(self.params.values())

    def optimizer(self, cfg: OptimConfig) -> torch.optim.Optimizer:
        """One optimizer over the stacks; on stacks its update of each member's slice is the update a separate
        optimizer would make. Stacks go in one group, weight decay applied by decay_weights() before each step:
        each group costs a pass of Python per step, which is what small stacked models spend their time on."""
        if self._single is not None:
            return optimizer_for_groups(cfg, named_groups(self.params, self.decay, self.no_decay, cfg.weight_decay))
        self._decay = (cfg.weight_decay, cfg.name == "adamw")
        return optimizer_for_groups(cfg, [{"params": self.parameters(), "weight_decay": 0.0}], fast=True)

    def decay_weights(self, lr: float) -> None:
        """Weight decay on the decayed stacks, as the optimizer's own weight_decay would apply it: added to the
        gradient (L2: SGD, Adam, RMSprop, Adagrad), or shrinking the weights before the step (AdamW)."""
        wd, decoupled = getattr(self, "_decay", (0.0, False))
        if wd == 0 or self._single is not None:
            return
        weights: list[torch.Tensor] = [self.params[n] for n in self.decay if self.params[n].grad is not None]
        with torch.no_grad():
            if decoupled:
                torch._foreach_mul_(weights, 1 - lr * wd)
            else:
                grads: list[torch.Tensor] = [w.grad for w in weights]  # type: ignore[misc]
                torch._foreach_add_(grads, weights, alpha=wd)

    def l1_penalty(self) -> torch.Tensor:
        """Each member's L1 norm of its weight matrices (not its biases), shape (K,)."""
        weights = [self.params[n] for n in self.decay]
        if self._single is not None:
            return sum(w.abs().sum() for w in weights).view(1)  # type: ignore[union-attr]
        return sum(w.abs().flatten(1).sum(1) for w in weights)  # type: ignore[return-value]

    def member_tensors(self, k: int) -> dict[str, torch.Tensor]:
        """Member k's state dict as views into the stacks (no copies), in its architecture's order."""
        if self._single is not None:
            return self._single.state_dict()
        tensors = {**self.params, **self.buffers}
        return {n: tensors[n][k] for n in self._state_names}

    def member_state(self, k: int) -> dict[str, torch.Tensor]:
        """Member k's state dict (CPU copies), loadable into the architecture it came from."""
        return {n: v.detach().to("cpu", copy=True) for n, v in self.member_tensors(k).items()}
