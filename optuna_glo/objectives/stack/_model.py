"""The model stack: ``k`` models of one task as one vectorized model, one SGD over all of them.

The members' parameters are stacked along a leading member dimension
(:func:`torch.func.stack_module_state`), the forward pass is :func:`torch.func.vmap` over
:func:`torch.func.functional_call`, and each member has its own loss on its slice of the logits
(:class:`~optuna_glo.objectives.stack.StackLoss`). The summed loss gives every member exactly its
own gradient, since no operation mixes members, and the recipe's SGD is elementwise, so one
:class:`torch.optim.SGD` over the stacked tensors is ``k`` independent optimizers.

Batch norm keeps per-member statistics: the running means and variances are stacked buffers like
the weights, which ``functional_call`` under ``vmap`` updates in place, each member's slice with
its own batch statistics.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from optuna_glo.objectives._device import cuda_devices
from optuna_glo.objectives._tasks import Task
from optuna_glo.objectives.stack._loss import StackLoss


class ModelStack:
    """``k`` models of one task as stacked tensors, with one SGD over them and per-member losses.

    A trainer of :func:`~optuna_glo.objectives._loop.train_loop`. Build one with
    :meth:`from_seeds` (members initialised as ``train`` initialises them) or
    :meth:`from_state_dicts` (members start from given weights); read a member's weights back with
    :meth:`member_state_dict`.

    Args:
        task: The task; must be vectorizable.
        losses: One loss module per member.
        models: One model of ``task`` per member; their weights and buffers are copied.
        device: Where the stack lives.
        amp: Run the forward pass under bf16 autocast (the losses in float32).
        compile: Wrap the vmapped forward pass in :func:`torch.compile`.
        eval_batch_size: Samples per member per forward pass when measuring accuracy; default
            the recipe's evaluation batch shared out among the members (at least a training batch).
    """

    def __init__(
        self,
        task: Task,
        losses: Sequence[nn.Module],
        models: Sequence[nn.Module],
        device: torch.device,
        *,
        amp: bool = False,
        compile: bool = False,
        eval_batch_size: int | None = None,
    ) -> None:
        _check(task, len(losses), len(models))
        self.task = task
        self.device = device
        self.amp = amp
        recipe = task.recipe
        self.eval_batch_size = eval_batch_size or max(
            recipe.batch_size, recipe.eval_batch_size // len(models)
        )
        params, buffers = stack_module_state(list(models))
        self.params: dict[str, torch.Tensor] = {
            n: p.detach().to(device).requires_grad_(p.requires_grad) for n, p in params.items()
        }
        self.buffers: dict[str, torch.Tensor] = {n: b.to(device) for n, b in buffers.items()}
        # A parameter-less copy on the meta device: functional_call supplies the tensors.
        self.base = copy.deepcopy(models[0]).to("meta")
        self.base.train()
        self.loss = StackLoss(losses).to(device)
        self.optimizer = recipe.make_optimizer(self._leaves())
        forward = vmap(self._forward_one, in_dims=(0, 0, None), randomness="different")
        self.forward: Callable[..., torch.Tensor] = (
            torch.compile(forward) if compile else forward
        )
        #: Original member index of each current slice (members leave when they end early).
        self.members: list[int] = list(range(len(models)))

    @classmethod
    def from_seeds(
        cls,
        task: Task,
        losses: Sequence[nn.Module],
        seeds: Sequence[int],
        device: torch.device,
        *,
        amp: bool = False,
        compile: bool = False,
    ) -> ModelStack:
        """Member ``j`` initialised exactly as ``train`` initialises a model for ``seeds[j]``.

        The caller's random state is left as it was.
        """
        _check(task, len(losses), len(seeds))
        models = []
        for seed in seeds:
            with torch.random.fork_rng(devices=cuda_devices(device)):
                torch.manual_seed(seed)
                models.append(task.model().to(device))
        return cls(task, losses, models, device, amp=amp, compile=compile)

    @classmethod
    def from_state_dicts(
        cls,
        task: Task,
        losses: Sequence[nn.Module],
        state_dicts: Sequence[Mapping[str, torch.Tensor]],
        device: torch.device,
        *,
        amp: bool = False,
        compile: bool = False,
    ) -> ModelStack:
        """Members that start from the given weights and buffers (e.g. inherited ones).

        Args:
            task: The task; must be vectorizable.
            losses: One loss module per member.
            state_dicts: One ``task.model()`` state dict per member (e.g. from
                :meth:`member_state_dict`).
            device: Where the stack lives.
            amp: As in the constructor.
            compile: As in the constructor.
        """
        _check(task, len(losses), len(state_dicts))
        models = []
        with torch.random.fork_rng(devices=[]):  # the models' own initialisation is overwritten
            for i, state in enumerate(state_dicts):
                model = task.model()
                try:
                    model.load_state_dict(state)
                except RuntimeError as err:
                    raise ValueError(
                        f"`state_dicts[{i}]` does not fit the model of task {task.name!r}: "
                        f"{' '.join(str(err).split())} Give state dicts of `task.model()`."
                    ) from None
                models.append(model)
        return cls(task, losses, models, device, amp=amp, compile=compile)

    def member_state_dict(self, member: int) -> dict[str, torch.Tensor]:
        """Member ``member``'s weights and buffers as a ``task.model()`` state dict (copies).

        Args:
            member: The member's original index (see :attr:`members`).
        """
        s = self._slice(member)
        tensors = {**self.params, **self.buffers}
        return {name: tensors[name][s].detach().clone() for name in self.base.state_dict()}

    def load_optimizer_states(self, states: Sequence[Mapping[str, Any] | None]) -> None:
        """Start member ``j``'s optimizer from ``states[j]``, a single model's
        ``optimizer.state_dict()`` (``None``: a fresh optimizer, as the model's first step).

        Only the per-parameter state is taken (SGD's momentum buffers); the hyperparameters stay
        the recipe's. A member without a buffer gets zeros, which SGD's first step treats exactly
        as no buffer (``0 * momentum + grad``; dampening is 0).
        """
        if len(states) != len(self):
            raise ValueError(
                f"`states` must have one optimizer state per member. Got {len(states)} for "
                f"{len(self)} members."
            )
        for i, leaf in enumerate(self._leaves()):
            buffers = [_momentum_buffer(state, i) for state in states]
            if all(b is None for b in buffers):
                continue
            stacked = torch.stack([
                torch.zeros_like(leaf[s]) if b is None else b.to(leaf.device, leaf.dtype)
                for s, b in enumerate(buffers)
            ])
            if stacked.shape != leaf.shape:
                raise ValueError(
                    f"The momentum buffers of parameter {i} have shape {tuple(stacked.shape)}; "
                    f"the stack's parameter has {tuple(leaf.shape)}."
                )
            self.optimizer.state[leaf]["momentum_buffer"] = stacked

    def member_optimizer_state(self, member: int) -> dict[str, Any]:
        """Member ``member``'s optimizer state as a single model's ``optimizer.state_dict()``
        (copies), which :meth:`load_optimizer_states` and ``torch.optim.SGD`` both read."""
        s = self._slice(member)
        state: dict[int, dict[str, torch.Tensor]] = {}
        for i, leaf in enumerate(self._leaves()):
            buf = self.optimizer.state.get(leaf, {}).get("momentum_buffer")
            if buf is not None:
                state[i] = {"momentum_buffer": buf[s].detach().clone()}
        return {"state": state, "param_groups": self.optimizer.state_dict()["param_groups"]}

    def _slice(self, member: int) -> int:
        if member not in self.members:
            raise ValueError(
                f"Member {member} is not in the stack: a member leaves it when it diverges or is "
                f"aborted. The members still in it are {self.members}."
            )
        return self.members.index(member)

    def _forward_one(
        self, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor], x: torch.Tensor
    ) -> torch.Tensor:
        return functional_call(self.base, (params, buffers), (x,))

    def __len__(self) -> int:
        return len(self.members)

    def _leaves(self) -> list[nn.Parameter]:
        # The stacked tensors are leaves that require grad: parameters in all but class.
        return cast(list[nn.Parameter], list(self.params.values()))

    def _autocast(self) -> contextlib.AbstractContextManager[object]:
        if not self.amp:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    def losses(self, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        """The ``[m]`` training losses of the current members on one shared batch."""
        with self._autocast():
            logits = self.forward(self.params, self.buffers, xb)
        return self.loss(logits.float(), yb)

    def step(
        self, losses: torch.Tensor, *, lr: float | None = None, finite: torch.Tensor | None = None
    ) -> None:
        """One SGD step of every member on its own loss (``lr`` overrides the recipe's).

        Members whose ``finite`` is false are left out of the summed loss: their own slice of the
        gradient may still be NaN, but no operation mixes members, and they leave the stack at the
        next divergence check.
        """
        if lr is not None:
            for group in self.optimizer.param_groups:
                group["lr"] = lr
        if finite is not None:
            losses = torch.where(finite, losses, 0.0)
        self.optimizer.zero_grad(set_to_none=True)
        # d(sum_j L_j)/d(theta_i) = dL_i/d(theta_i): no operation mixes members.
        losses.sum().backward()
        self.optimizer.step()

    def finite_weights(self) -> torch.Tensor:
        """``[m]`` booleans: whether each member's weights are all finite."""
        ok = torch.ones(len(self), dtype=torch.bool, device=self.device)
        for p in self.params.values():
            ok &= torch.isfinite(p.detach().reshape(len(self), -1)).all(dim=1)
        return ok

    @torch.no_grad()
    def accuracy(self, x: torch.Tensor, y: torch.Tensor) -> list[float]:
        """Each member's classification accuracy on ``(x, y)`` in eval mode."""
        self.base.eval()
        correct = torch.zeros(len(self), dtype=torch.long, device=self.device)
        for start in range(0, len(y), self.eval_batch_size):
            with self._autocast():
                xb = x[start : start + self.eval_batch_size]
                logits = self.forward(self.params, self.buffers, xb)
            correct += (logits.argmax(dim=-1) == y[start : start + self.eval_batch_size]).sum(-1)
        self.base.train()
        return (correct.double() / max(1, len(y))).tolist()

    def keep(self, slices: Sequence[int]) -> None:
        """Keep only the current slices ``slices``: their weights, momentum and losses."""
        index = torch.tensor(list(slices), dtype=torch.long, device=self.device)
        old = list(self.params.values())
        self.params = {
            name: p.detach().index_select(0, index).requires_grad_(p.requires_grad)
            for name, p in self.params.items()
        }
        self.buffers = {name: b.index_select(0, index) for name, b in self.buffers.items()}
        optimizer = self.task.recipe.make_optimizer(self._leaves())
        for group, old_group in zip(
            optimizer.param_groups, self.optimizer.param_groups, strict=True
        ):
            group["lr"] = old_group["lr"]
        for p_old, p_new in zip(old, self.params.values(), strict=True):
            buf = self.optimizer.state.get(p_old, {}).get("momentum_buffer")
            if buf is not None:
                optimizer.state[p_new]["momentum_buffer"] = buf.index_select(0, index)
        self.optimizer = optimizer
        self.loss = self.loss.subset(slices)
        self.members = [self.members[i] for i in slices]


def _check(task: Task, n_losses: int, n_members: int) -> None:
    if not task.vectorizable:
        raise ValueError(
            f"Task {task.name!r} cannot be trained as a model stack: "
            f"{task.not_vectorizable_reason or 'it is marked not vectorizable'}. "
            "Use `path='sequential'` (or 'auto')."
        )
    if n_losses != n_members:
        raise ValueError(
            f"A model stack needs one loss per member. Got {n_losses} losses and {n_members} "
            "members."
        )


def _momentum_buffer(state: Mapping[str, Any] | None, index: int) -> torch.Tensor | None:
    """SGD's momentum buffer of parameter ``index`` in an ``optimizer.state_dict()``."""
    if state is None:
        return None
    entry = state.get("state", {}).get(index)
    if entry is None:
        return None
    if set(entry) - {"momentum_buffer"}:
        raise ValueError(
            f"Only SGD optimizer states can start a stack member; parameter {index}'s state has "
            f"the keys {sorted(entry)}."
        )
    buf = entry.get("momentum_buffer")
    return buf if isinstance(buf, torch.Tensor) else None
