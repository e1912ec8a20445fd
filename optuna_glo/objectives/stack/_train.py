"""Training candidates together: a model stack per group, or one model after another.

:func:`train_stack` is the stacked ``train``: one run of :func:`~optuna_glo.objectives._loop.
train_loop` with a :class:`~optuna_glo.objectives.stack.ModelStack` as its trainer, under the same
abort-and-retry rule. :func:`train_candidates` trains ``k`` candidates on whichever path
:func:`~optuna_glo.objectives.stack.choose_path` picks, in stacks that fit the device;
:func:`train_trials` is its batch form of the loss-search objective (what the worker calls).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from optuna_glo.objectives._data import Splits, load_dataset, resolve_data_dir
from optuna_glo.objectives._device import device_name, resolve_device
from optuna_glo.objectives._loop import (
    DIVERGED_FITNESS,
    AbortRule,
    LoopOptions,
    OnEval,
    TrainResult,
    check_options,
    relabel,
    retry_aborted,
    train_loop,
)
from optuna_glo.objectives._objective import LossSearchObjective, record_result
from optuna_glo.objectives._report import TrialReporter
from optuna_glo.objectives._tasks import Task
from optuna_glo.objectives._training import train
from optuna_glo.objectives.stack._autotune import (
    AUTOTUNE_FILE,
    Measure,
    PathChoice,
    PathName,
    choose_path,
)
from optuna_glo.objectives.stack._loss import LossesOrThetas, as_losses
from optuna_glo.objectives.stack._memory import stack_size
from optuna_glo.objectives.stack._model import ModelStack

if TYPE_CHECKING:
    import optuna

_logger = logging.getLogger(__name__)


def train_stack(
    task: Task,
    losses: Sequence[nn.Module],
    seeds: Sequence[int],
    data: Splits,
    *,
    steps: int,
    data_seed: int,
    device: torch.device,
    eval_every: int | None = None,
    eval_on: str = "val",
    abort_rule: AbortRule | None = None,
    evaluate_test: bool = False,
    on_step: Callable[[int], None] | None = None,
    on_eval: OnEval | None = None,
    amp: bool = False,
    compile: bool = False,
) -> list[TrainResult]:
    """Train ``len(seeds)`` models of ``task`` as one model stack, all on the same batches.

    Member ``j`` is trained as ``train(task, losses[j], seed=seeds[j], data_seed=data_seed,
    abort_rule=abort_rule, ...)`` trains it (dropout masks excepted: see
    :mod:`optuna_glo.objectives.stack`); members the abort rule stops are retried together.
    ``on_eval`` sees the members as indices of ``seeds``; a member it stops leaves the stack.
    ``data`` must already be on ``device``.

    Returns:
        One :class:`~optuna_glo.objectives.TrainResult` per member, in order. ``seconds`` is the
        stack's wall time up to the member's end divided by the stack's size (its share).
    """
    options = LoopOptions(
        steps=steps, eval_every=eval_every, eval_on=eval_on, abort_rule=abort_rule,
        evaluate_test=evaluate_test, on_step=on_step,
    )

    def attempt(members: list[int], offset: int) -> list[TrainResult]:
        stack = _seeded_stack(
            task, [losses[i] for i in members], [seeds[i] + offset for i in members], device,
            amp=amp, compile=compile,
        )
        return train_loop(
            stack, task, data, options, data_seed=data_seed + offset, device=device,
            on_eval=relabel(on_eval, members),
        )

    return retry_aborted(attempt, len(seeds), abort_rule)


def _seeded_stack(
    task: Task,
    losses: Sequence[nn.Module],
    seeds: Sequence[int],
    device: torch.device,
    *,
    amp: bool,
    compile: bool,
) -> Callable[[], ModelStack]:
    """The loop's trainer: members initialised from ``seeds``, then one dropout stream for all."""

    def make() -> ModelStack:
        stack = ModelStack.from_seeds(task, losses, seeds, device, amp=amp, compile=compile)
        # One dropout stream for the whole stack, fixed by its seeds (package docstring).
        torch.manual_seed(hash(tuple(seeds)) & 0x7FFF_FFFF_FFFF)
        return stack

    return make


def train_candidates(
    task: Task,
    losses_or_thetas: LossesOrThetas,
    seeds: Sequence[int],
    *,
    steps: int | None = None,
    data_seed: int | Sequence[int] | None = None,
    device: str | torch.device | None = "cpu",
    data_dir: str | Path | None = None,
    download: bool = False,
    data: Splits | None = None,
    path: PathName = "auto",
    population_batch: int | None = None,
    abort_rule: AbortRule | None = None,
    evaluate_test: bool = False,
    eval_every: int | None = None,
    eval_on: str = "val",
    amp: bool = False,
    compile: bool = False,
    autotune: bool | Path = True,
    measure: Measure | None = None,
    on_step: Callable[[int], None] | None = None,
    on_eval: OnEval | None = None,
    on_choice: Callable[[PathChoice], None] | None = None,
) -> list[TrainResult]:
    """Train ``k`` candidates of ``task`` (one per loss and seed) and measure each.

    The results are those of ``[train(task, loss_j, seed=seeds[j], data_seed=data_seeds[j],
    ...)]`` (to float tolerance; with dropout, equal in distribution), whichever path runs: one
    model stack (or several, when the device fits fewer than ``k``) or one model after another.
    Members train together only when they share a data seed (the same batches in lockstep); with
    common random numbers (one seed for all) the whole generation does.

    Args:
        task: The task (data set, model, recipe).
        losses_or_thetas: ``k`` loss modules, or a ``[k, P]`` tensor of TaylorGLO parameters.
        seeds: ``k`` seeds of the models' initialisation.
        steps: Training steps; default the recipe's ``partial_steps``.
        data_seed: Seed of the batch order and augmentation: one for all members (common random
            numbers: every candidate sees the same batches), one per member, or ``None`` for each
            member's own seed (as ``train``'s default).
        device: ``"cpu"``, ``"cuda:K"`` or ``"auto"``.
        data_dir: Where data sets are read (and downloaded to, if ``download``); the autotune file
            lives there too.
        download: Whether a missing data set may be downloaded.
        data: Pre-loaded splits (moved to ``device`` here if needed).
        path: ``"auto"`` (measure once, remember, take the faster), ``"vectorized"`` or
            ``"sequential"``.
        population_batch: Members trained together at most; default: as many as fit the device.
            A value the device cannot fit is refused before any training.
        abort_rule: TaylorGLO's abort-and-retry rule (appendix A.5), or ``None``.
        evaluate_test: Also measure test accuracy at the end.
        eval_every: Record accuracy every this many steps (training curves).
        eval_on: ``"val"`` or ``"test"``: the split of the recorded curve.
        amp: bf16 autocast of the stacked forward pass (off by default; see benchmarks/).
        compile: ``torch.compile`` the stacked forward pass (off by default).
        autotune: ``True``: remember measurements in ``<data dir>/autotune.json``; a path: that
            file; ``False``: measure every time without remembering.
        measure: Replaces :func:`~optuna_glo.objectives.stack.measure_paths` for the automatic
            choice (tests).
        on_step: Called with the steps done (of the current stack or model) after each step.
        on_eval: Called at each checkpoint of ``eval_every`` with the step, the candidates still
            training (indices into ``losses_or_thetas``) and their accuracies; the candidates it
            returns stop there, pruned (an Optuna pruner: see :func:`train_trials`).
        on_choice: Called with the :class:`PathChoice` made for each group trained together.

    Returns:
        One :class:`~optuna_glo.objectives.TrainResult` per candidate, in the order given.
    """
    losses = as_losses(losses_or_thetas)
    k = len(losses)
    seeds = [int(s) for s in seeds]
    if k == 0:
        raise ValueError("`losses_or_thetas` is empty: give at least one candidate.")
    if len(seeds) != k:
        raise ValueError(
            f"`seeds` must have one seed per candidate. Got {k} candidates and {len(seeds)} seeds."
        )
    data_seeds = _data_seeds(data_seed, seeds)
    if population_batch is not None and population_batch < 1:
        raise ValueError(
            f"`population_batch` must be >= 1. The specified `population_batch` is "
            f"{population_batch}."
        )
    steps = task.recipe.partial_steps if steps is None else steps
    check_options(steps=steps, eval_on=eval_on)
    dev = resolve_device(device)
    data = (load_dataset(task.dataset, data_dir, download) if data is None else data).to(dev)
    cache_file: Path | None = None
    if autotune is True:
        cache_file = resolve_data_dir(data_dir) / AUTOTUNE_FILE
    elif isinstance(autotune, Path):
        cache_file = autotune
    results: list[TrainResult | None] = [None] * k

    def one_by_one(indices: Sequence[int]) -> None:
        for i in indices:
            results[i] = train(
                task, losses[i], steps=steps, seed=seeds[i], data_seed=data_seeds[i], device=dev,
                data=data, abort_rule=abort_rule, eval_every=eval_every, eval_on=eval_on,
                evaluate_test=evaluate_test, on_step=on_step, on_eval=relabel(on_eval, [i]),
            )

    if path == "sequential" or (path == "auto" and not task.vectorizable):
        choice = choose_path(task, k, dev, data, path=path)
        _logger.info("%s, k=%d: one by one (%s)", task.name, k, choice.reason)
        if on_choice is not None:
            on_choice(choice)
        one_by_one(range(k))
        return results  # type: ignore[return-value]

    # Members that share a data seed can train in lockstep; the device bounds how many at once.
    groups: dict[int, list[int]] = {}
    for i, ds in enumerate(data_seeds):
        groups.setdefault(ds, []).append(i)
    chunk = stack_size(task, data, dev, max(map(len, groups.values())), population_batch)
    for ds, group in groups.items():
        for lo in range(0, len(group), chunk):
            members = group[lo : lo + chunk]
            try:
                choice = choose_path(
                    task, len(members), dev, data, path=path, cache_file=cache_file,
                    measure=measure, amp=amp, compile=compile,
                )
            except torch.OutOfMemoryError:
                raise ValueError(
                    f"A stack of {len(members)} members of task {task.name!r} ran out of memory "
                    f"on {device_name(dev)} while its speed was measured, before any training. "
                    "Give a smaller `population_batch`."
                ) from None
            _logger.info("%s, k=%d: %s (%s)", task.name, len(members), choice.path, choice.reason)
            if on_choice is not None:
                on_choice(choice)
            if choice.path == "sequential":
                one_by_one(members)
                continue
            out = train_stack(
                task, [losses[i] for i in members], [seeds[i] for i in members], data,
                steps=steps, data_seed=ds, device=dev, abort_rule=abort_rule,
                eval_every=eval_every, eval_on=eval_on, evaluate_test=evaluate_test,
                on_step=on_step, on_eval=relabel(on_eval, members), amp=amp, compile=compile,
            )
            for i, result in zip(members, out, strict=True):
                results[i] = result
    return results  # type: ignore[return-value]


def _data_seeds(data_seed: int | Sequence[int] | None, seeds: list[int]) -> list[int]:
    """One data seed per candidate: ``data_seed`` for all, one each, or each one's own seed."""
    if data_seed is None:
        return list(seeds)
    if isinstance(data_seed, int):
        return [data_seed] * len(seeds)
    data_seeds = [int(s) for s in data_seed]
    if len(data_seeds) != len(seeds):
        raise ValueError(
            f"`data_seed` must be one seed or one per candidate. Got {len(seeds)} candidates and "
            f"{len(data_seeds)} data seeds."
        )
    return data_seeds


def train_trials(
    objective: LossSearchObjective,
    trials: Sequence[optuna.trial.Trial],
    *,
    population_batch: int | None = None,
    path: PathName = "auto",
    on_choice: Callable[[PathChoice], None] | None = None,
) -> list[float | optuna.TrialPruned]:
    """The batch form of ``objective(trial)``: the values of ``trials``, trained together.

    Each trial's loss, seed and recorded user attributes are exactly those
    :class:`~optuna_glo.objectives.LossSearchObjective` gives it one at a time; the candidates
    that can train are trained by :func:`train_candidates` (one model stack when they share a
    seed, i.e. with common random numbers, and the device measured it faster). Each candidate
    reports its validation accuracy to its trial at the objective's checkpoints; one the study's
    pruner prunes leaves the stack, and its entry is the ``optuna.TrialPruned`` that
    ``objective(trial)`` would have raised (tell it as ``TrialState.PRUNED``).

    Args:
        objective: The study's objective (task, loss per trial, steps, seeds, device).
        trials: Running trials, e.g. one CMA-ES generation asked in a row.
        population_batch: Members trained together at most (default: what fits the device).
        path: ``"auto"``, ``"vectorized"`` or ``"sequential"`` (see :func:`train_candidates`).
        on_choice: Called with the path chosen for each group trained together.
    """
    values: list[float | optuna.TrialPruned] = [DIVERGED_FITNESS] * len(trials)
    # Candidates train together only at one learning rate (all, unless the search chooses it).
    by_lr: dict[float, list[tuple[int, nn.Module, int]]] = {}
    tasks: dict[float, Task] = {}
    for i, trial in enumerate(trials):
        loss = objective.candidate(trial)
        if isinstance(loss, float):  # untrainable or cached: its value needs no training
            values[i] = loss
            continue
        task = objective.task_of(trial)
        tasks[task.recipe.lr] = task
        by_lr.setdefault(task.recipe.lr, []).append((i, loss, objective.seed_of(trial)))
    for lr, group in by_lr.items():
        reporter = TrialReporter([trials[i] for i, _, _ in group])
        results = train_candidates(
            tasks[lr], [loss for _, loss, _ in group], [seed for _, _, seed in group],
            steps=objective.steps, device=objective.device, data=objective.data,
            data_dir=objective.data_dir, abort_rule=objective.abort_rule,
            population_batch=population_batch, path=path, eval_every=objective.eval_every,
            on_eval=reporter.on_eval, on_choice=on_choice,
        )
        for j, ((i, _, _), result) in enumerate(zip(group, results, strict=True)):
            record_result(trials[i], result)
            values[i] = reporter.outcome(j, result)
    return values
