"""The loss-search objective: a trial's loss, a partial training run, the validation accuracy."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from torch import nn

from optuna_glo.keys import FORMULA_ATTR, LR_ATTR, UNTRAINABLE_ATTR
from optuna_glo.losses import readable_formula
from optuna_glo.objectives._data import Splits, load_dataset
from optuna_glo.objectives._device import resolve_device
from optuna_glo.objectives._loop import (
    DIVERGED_FITNESS,
    SEED_STRIDE,
    AbortRule,
    TrainResult,
    has_collapsed,
)
from optuna_glo.objectives._report import TrialReporter, checkpoint_interval
from optuna_glo.objectives._tasks import Task
from optuna_glo.objectives._training import train

if TYPE_CHECKING:
    import optuna

#: Turns a trial into its candidate loss; ``None`` means the candidate cannot train at all (GLO
#: III-A: a tree without both an x and a y leaf) and gets fitness 0 without training.
SuggestLoss = Callable[["optuna.trial.Trial"], nn.Module | None]

#: Why a candidate gets fitness 0 without training, from its loss and the task's number of classes,
#: or ``None`` to train it (e.g. the TaylorGLO authors' invariant, ``losses.invariant_violation``).
UntrainableReason = Callable[[nn.Module, int], str | None]


#: Turns a trial into the generation of the search it belongs to (``None``: it has none). The
#: runtime layer builds it from the sampler's attrs (``keys.CMA_GENERATION_KEY`` and others), so
#: this layer never imports a sampler.
GenerationOf = Callable[["optuna.trial.BaseTrial"], int | None]

#: ``[training] common_random_numbers``: which candidates share initial weights and batches.
#: ``"generation"`` (the default of searches): those of one generation, each generation new ones,
#: so candidates are compared on equal terms and a winner cannot be fitted to one seed (issue 12,
#: 2a). ``"study"``: every candidate of the study, one seed. ``"none"``: every trial its own.
CRN_MODES = ("generation", "study", "none")


def training_seed(
    study_seed: int, trial_number: int, common_random_numbers: str, generation: int | None = None
) -> int:
    """The seed of a trial's training run.

    With common random numbers candidates share a seed: the same initial weights, the same
    batches, the same dropout masks, so only the loss differs between them. Per generation, the
    seed of generation ``g`` is ``study_seed + SEED_STRIDE * (g + 1)``; a trial without a
    generation (e.g. one enqueued by hand, or a sampler without generations) gets the study's.

    Args:
        study_seed: The study seed.
        trial_number: The trial's number (``"none"``: its seed follows from it).
        common_random_numbers: One of :data:`CRN_MODES`.
        generation: The trial's generation (``"generation"`` mode).
    """
    if common_random_numbers not in CRN_MODES:
        raise ValueError(
            f"`common_random_numbers` must be one of {', '.join(map(repr, CRN_MODES))}. The "
            f"specified `common_random_numbers` is {common_random_numbers!r}."
        )
    if common_random_numbers == "none":
        return study_seed + SEED_STRIDE * (trial_number + 1)
    if common_random_numbers == "generation" and generation is not None:
        return study_seed + SEED_STRIDE * (generation + 1)
    return study_seed


def record_result(trial: optuna.trial.BaseTrial, result: TrainResult) -> None:
    """Store what a training run measured in the trial's user attributes.

    Every path that trains a search's candidates (one by one, or a population) ends here, so this
    is where a run is judged: when the trial carries its task's number of classes
    (``"n_classes"``, written by :meth:`LossSearchObjective.candidate`), a run that ended within
    :data:`~optuna_glo.objectives._loop.COLLAPSE_MARGIN` of it is marked collapsed, and
    ``result.value`` becomes 0 like a diverged run's. ``"val_accuracy"`` keeps what was measured.
    """
    n_classes = trial.user_attrs.get("n_classes")
    if isinstance(n_classes, int) and not result.diverged:
        result.collapsed = has_collapsed(result.val_accuracy, n_classes)
    trial.set_user_attr("val_accuracy", result.val_accuracy)
    trial.set_user_attr("diverged", result.diverged)
    if result.diverged_at_step is not None:
        trial.set_user_attr("diverged_at_step", result.diverged_at_step)
    trial.set_user_attr("collapsed", result.collapsed)
    trial.set_user_attr("steps", result.steps)
    trial.set_user_attr("attempts", result.attempts)
    trial.set_user_attr("train_seconds", round(result.seconds, 3))


class TaskData:
    """What every objective shares: a task, a device, and the task's data loaded there once.

    Args:
        task: The task to train.
        device: Training device.
        data_dir: Where data sets are read.
        download: Whether a missing data set may be downloaded.
    """

    def __init__(
        self, task: Task, *, device: str | None, data_dir: str | None, download: bool
    ) -> None:
        self.task = task
        self.device = resolve_device(device)
        self.data_dir = data_dir
        self.download = download
        self._data: Splits | None = None

    @property
    def data(self) -> Splits:
        """The task's data on the training device (loaded and moved once)."""
        if self._data is None:
            self._data = load_dataset(self.task.dataset, self.data_dir, self.download).to(
                self.device
            )
        return self._data


class LossSearchObjective(TaskData):
    """Optuna objective of a loss search on one task.

    Args:
        task: The task to train.
        suggest_loss: Turns a trial into its candidate loss.
        steps: Partial-training steps (default: the recipe's).
        seed: The study seed.
        common_random_numbers: Which candidates share initialisation and batches
            (:data:`CRN_MODES`).
        generation_of: A trial's generation (``"generation"`` mode); default: none, so every
            candidate shares the study seed.
        abort_rule: TaylorGLO's abort-and-retry rule, or ``None``.
        untrainable_reason: A check before training: a candidate it gives a reason for gets
            fitness 0 untrained, and the reason in its user attribute ``"loss_untrainable"``.
        eval_every: Steps between the checkpoints where a candidate reports its validation
            accuracy to its trial (learning curves; the study's pruner may stop it there).
            Default: ten checkpoints per run; 0: only the final value is reported.
        device: Training device.
        data_dir: Where data sets are read.
        download: Whether a missing data set may be downloaded.
    """

    def __init__(
        self,
        task: Task,
        suggest_loss: SuggestLoss,
        *,
        steps: int | None = None,
        seed: int = 0,
        common_random_numbers: str = "generation",
        generation_of: GenerationOf | None = None,
        abort_rule: AbortRule | None = None,
        untrainable_reason: UntrainableReason | None = None,
        eval_every: int | None = None,
        device: str | None = None,
        data_dir: str | None = None,
        download: bool = False,
    ) -> None:
        super().__init__(task, device=device, data_dir=data_dir, download=download)
        self.suggest_loss = suggest_loss
        self.steps = steps if steps is not None else task.recipe.partial_steps
        self.seed = seed
        training_seed(seed, 0, common_random_numbers)  # an unknown mode fails here
        self.common_random_numbers = common_random_numbers
        self.generation_of = generation_of
        self.abort_rule = abort_rule
        self.untrainable_reason = untrainable_reason
        self.eval_every = checkpoint_interval(self.steps, eval_every)

    def candidate(self, trial: optuna.trial.Trial) -> nn.Module | float:
        """The trial's loss to train, or its value when it needs no training.

        A candidate that cannot train gets fitness 0 untrained (GLO III-A), and so does one that
        ``untrainable_reason`` gives a reason for; one whose canonical form already has a value
        gets that value from GLO's fitness cache. A candidate to train gets the task's number of
        classes in its user attribute ``"n_classes"``.
        """
        loss = self.suggest_loss(trial)
        if loss is None:
            trial.set_user_attr("untrainable", True)
            return DIVERGED_FITNESS
        cached = getattr(loss, "cached_value", None)  # GLO III-A's fitness cache
        if cached is not None:
            return float(cached)
        if self.untrainable_reason is not None:
            reason = self.untrainable_reason(loss, self.data.n_classes)
            if reason is not None:
                trial.set_user_attr("untrainable", True)
                trial.set_user_attr(UNTRAINABLE_ATTR, reason)
                return DIVERGED_FITNESS
        # Read by `record_result`, which judges a run that ends at chance to have collapsed.
        trial.set_user_attr("n_classes", self.data.n_classes)
        return loss

    def seed_of(self, trial: optuna.trial.BaseTrial) -> int:
        """The seed of ``trial``'s training run."""
        generation = self.generation_of(trial) if self.generation_of is not None else None
        return training_seed(self.seed, trial.number, self.common_random_numbers, generation)

    def task_of(self, trial: optuna.trial.BaseTrial) -> Task:
        """The task ``trial`` trains: with the learning rate the search chose for it, if any.

        The rate is the trial's user attribute ``"lr"`` (``suggest.suggest_taylor_lr``), used
        only when it is a positive finite number.
        """
        lr = trial.user_attrs.get(LR_ATTR)
        if isinstance(lr, float) and math.isfinite(lr) and lr > 0 and lr != self.task.recipe.lr:
            return self.task.with_recipe(lr=lr)
        return self.task

    def __call__(self, trial: optuna.trial.Trial) -> float:
        """The candidate's validation accuracy; raises ``optuna.TrialPruned`` if pruned."""
        loss = self.candidate(trial)
        if isinstance(loss, float):
            return loss
        reporter = TrialReporter([trial])
        result = train(
            self.task_of(trial), loss, steps=self.steps, seed=self.seed_of(trial),
            device=self.device, data=self.data, abort_rule=self.abort_rule,
            eval_every=self.eval_every, on_eval=reporter.on_eval,
        )
        record_result(trial, result)
        outcome = reporter.outcome(0, result)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


class FixedLossObjective(TaskData):
    """Objective of a comparison of fixed losses: each trial trains one (loss, steps, repeat).

    The grid of candidates is the trial's parameters ``loss``, ``steps`` and ``repeat`` (a
    ``GridSampler`` covers it once, shared by any number of workers). The value is the accuracy on
    ``split`` after ``steps`` steps; validation and test accuracy are both recorded.

    Args:
        task: The task to train.
        losses: Builds each loss by name.
        steps: The training lengths.
        repeats: Models per loss and length; repeat ``r`` trains with seed ``seed + r``.
        seed: The study seed.
        split: ``"test"`` or ``"val"``: the accuracy reported as the value.
        device: Training device.
        data_dir: Where data sets are read.
        download: Whether a missing data set may be downloaded.
    """

    def __init__(
        self,
        task: Task,
        losses: dict[str, Callable[[], nn.Module]],
        *,
        steps: tuple[int, ...],
        repeats: int,
        seed: int = 0,
        split: str = "test",
        device: str | None = None,
        data_dir: str | None = None,
        download: bool = False,
    ) -> None:
        super().__init__(task, device=device, data_dir=data_dir, download=download)
        self.losses = losses
        self.steps = steps
        self.repeats = repeats
        self.seed = seed
        self.split = split

    def __call__(self, trial: optuna.trial.Trial) -> float:
        name = trial.suggest_categorical("loss", list(self.losses))
        steps = trial.suggest_categorical("steps", list(self.steps))
        repeat = trial.suggest_categorical("repeat", list(range(self.repeats)))
        loss = self.losses[str(name)]()
        trial.set_user_attr(FORMULA_ATTR, readable_formula(loss))
        result = train(
            self.task, loss, steps=int(steps), seed=self.seed + int(repeat), device=self.device,
            data=self.data, evaluate_test=True,
        )
        record_result(trial, result)
        trial.set_user_attr("test_accuracy", result.test_accuracy)
        if result.diverged:
            return DIVERGED_FITNESS
        if self.split == "test":
            assert result.test_accuracy is not None
            return result.test_accuracy
        return result.val_accuracy
