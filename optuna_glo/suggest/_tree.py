"""The bridge from an Optuna trial to a loss tree (GLO): the GP phase and the coefficient phase."""

from __future__ import annotations

from typing import TYPE_CHECKING

import optuna
from optuna.trial import FrozenTrial, TrialState

from optuna_glo.keys import (
    CACHED_FROM_ATTR,
    CACHED_FROM_KEY,
    CANONICAL_KEY,
    COEFFICIENT_BOUNDS,
    COEFFICIENT_PREFIX,
    COEFFICIENT_TREE_KEY,
    FORMULA_ATTR,
    TREE_ATTR,
    TREE_KEY,
    UNTRAINABLE_ATTR,
)
from optuna_glo.losses import readable_formula
from optuna_glo.losses.trees import (
    Node,
    TreeLoss,
    parse,
    reset_coefficients,
    untrainable_reason,
    with_coefficients,
)
from optuna_glo.samplers.gp import coefficient_param_names, trial_system_attrs

if TYPE_CHECKING:
    from collections.abc import Sequence

#: Fitness of a tree that cannot train (GLO III-A: "a fitness of 0").
UNTRAINABLE_FITNESS = 0.0


class SuggestedTreeLoss(TreeLoss):
    """The loss tree of a trial, with what is known about it before training.

    Attributes:
        cached_value: The value to return without training, or ``None`` to train: the value of a
            finished trial with the same canonical tree (and the same other parameters), or
            0.0 for a tree that cannot train (GLO III-A).
        cached_from: Number of the trial whose value was reused, if any.
        untrainable: Why the tree cannot train, if it cannot.
    """

    def __init__(
        self,
        tree: Node,
        *,
        cached_value: float | None = None,
        cached_from: int | None = None,
        untrainable: str | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(tree, reduction=reduction)
        self.cached_value = cached_value
        self.cached_from = cached_from
        self.untrainable = untrainable


def suggest_loss_tree(
    trial: optuna.trial.BaseTrial, *, reduction: str = "mean", untrainable: str = "prune"
) -> SuggestedTreeLoss:
    """The loss tree that a :class:`~optuna_glo.samplers.GeneticProgrammingSampler` gave ``trial``.

    The result is a drop-in for ``torch.nn.CrossEntropyLoss`` (its text is ``loss.text``). A tree
    that cannot train (no x or no y, GLO III-A, or no gradient: see
    :func:`~optuna_glo.losses.trees.untrainable_reason`) never reaches the objective's training:
    the trial is pruned (``optuna.TrialPruned``), so it can never become the best trial. When
    ``cached_value`` is not ``None`` (GLO's fitness cache), return it instead of training::

        def objective(trial):
            loss_fn = optuna_glo.suggest_loss_tree(trial)   # prunes an untrainable tree
            if loss_fn.cached_value is not None:
                return loss_fn.cached_value   # the value of the same tree, trained before
            return train(task, loss_fn).value

    The fitness cache (GLO III-A) matches the tree's
    :func:`~optuna_glo.losses.trees.fitness_key` (the canonical form of its terms that reach the
    gradient) and the trial's other parameters as suggested so far: suggest those first if the
    objective has any. A hit is written to the trial's user attribute ``"loss_cached_from"``; an
    untrainable tree's reason to ``"loss_untrainable"``.

    Args:
        trial: A trial of a study sampled by ``GeneticProgrammingSampler`` (or a finished
            ``FrozenTrial`` of one, to rebuild its loss; no cache lookup then).
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` over the batch.
        untrainable: ``"prune"`` (default) raises ``optuna.TrialPruned`` for an untrainable tree;
            ``"score"`` returns it with ``cached_value`` 0, GLO III-A's "fitness of 0", for an
            objective that returns ``cached_value`` (optuna-glo's workers do: the GP population
            then counts the tree, with a roulette weight of 0, as in the paper).
    """
    if untrainable not in ("prune", "score"):
        raise ValueError(
            f"`untrainable` must be 'prune' or 'score'. The specified `untrainable` is "
            f"{untrainable!r}."
        )
    attrs = trial_system_attrs(trial)
    if TREE_KEY not in attrs:
        raise ValueError(
            f"Trial {trial.number} has no loss tree: create its study with "
            "`sampler=optuna_glo.samplers.GeneticProgrammingSampler(...)`."
        )
    tree = parse(attrs[TREE_KEY])
    reason = untrainable_reason(tree)
    if isinstance(trial, FrozenTrial) or not isinstance(trial, optuna.Trial):
        return SuggestedTreeLoss(tree, untrainable=reason, reduction=reduction)
    if reason is not None:
        trial.set_user_attr(UNTRAINABLE_ATTR, reason)
        if untrainable == "prune":
            raise optuna.TrialPruned(f"The loss tree {attrs[TREE_KEY]} cannot train: {reason}.")
        return SuggestedTreeLoss(
            tree, cached_value=UNTRAINABLE_FITNESS, untrainable=reason, reduction=reduction
        )
    hit = _cache_lookup(trial, attrs[CANONICAL_KEY])
    if hit is None:
        return SuggestedTreeLoss(tree, reduction=reduction)
    trial.set_user_attr(CACHED_FROM_ATTR, hit.number)
    trial.study._storage.set_trial_system_attr(trial._trial_id, CACHED_FROM_KEY, hit.number)
    return SuggestedTreeLoss(
        tree, cached_value=float(hit.values[0]), cached_from=hit.number, reduction=reduction
    )


def _cache_lookup(trial: optuna.Trial, key: str) -> FrozenTrial | None:
    """The first finished trial with fitness key ``key`` and the same parameters."""
    study = trial.study
    if study._is_multi_objective():
        return None
    params = trial.params
    for t in study._storage.get_all_trials(
        study._study_id, deepcopy=False, states=(TrialState.COMPLETE,)
    ):
        if t.system_attrs.get(CANONICAL_KEY) == key and t.params == params:
            return t
    return None


def suggest_tree_coefficients(
    trial: optuna.trial.BaseTrial,
    tree: Node | str,
    *,
    low: float = COEFFICIENT_BOUNDS[0],
    high: float = COEFFICIENT_BOUNDS[1],
    prefix: str = COEFFICIENT_PREFIX,
    reduction: str = "mean",
) -> TreeLoss:
    """Suggest the free coefficients of ``tree`` (GLO III-B) and return the tuned loss.

    The tree's node coefficients, less those another coefficient absorbs
    (:func:`~optuna_glo.losses.trees.free_coefficient_paths`: ``3(5x + 2y) = 15x + 6y``), become
    float parameters ``glo_c0, glo_c1, ...`` of one fixed-length search space. Sample them with
    :func:`optuna_glo.samplers.coefficient_sampler` for the same tree: CMA-ES then starts at all
    ones (the discovered tree) with step size 1.5, as GLO does::

        tree = "log(y) - x / y"
        study = optuna.create_study(direction="maximize", sampler=coefficient_sampler(tree))
        study.optimize(lambda t: train(task, suggest_tree_coefficients(t, tree)).value)
 The tuned tree's text is stored in the trial's
    user attributes ``"loss_tree"`` and ``"loss_formula"``.

    Args:
        trial: The trial.
        tree: The discovered tree (its own coefficients are reset to 1 first), or its text.
        low: Lower bound of every coefficient.
        high: Upper bound of every coefficient.
        prefix: Parameter-name prefix.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` over the batch.
    """
    if not low < high:
        raise ValueError(f"`low` must be below `high`. The specified bounds are ({low}, {high}).")
    tree = reset_coefficients(parse(tree) if isinstance(tree, str) else tree)
    values: Sequence[float] = [
        trial.suggest_float(name, low, high) for name in coefficient_param_names(tree, prefix)
    ]
    loss = TreeLoss(with_coefficients(tree, values), reduction=reduction)
    trial.set_user_attr(TREE_ATTR, loss.text)
    trial.set_user_attr(FORMULA_ATTR, readable_formula(loss))
    return loss


def suggest_glo_loss(
    trial: optuna.trial.BaseTrial,
    *,
    low: float = COEFFICIENT_BOUNDS[0],
    high: float = COEFFICIENT_BOUNDS[1],
    reduction: str = "mean",
    untrainable: str = "prune",
) -> TreeLoss:
    """The loss of a trial of a :class:`~optuna_glo.samplers.GLOSampler` study, in either phase.

    A discovery trial gets its candidate tree (:func:`suggest_loss_tree`: check
    ``cached_value``; ``untrainable`` is passed on); a coefficient-phase trial gets the best
    discovered tree with coefficients suggested by :func:`suggest_tree_coefficients` between
    ``low`` and ``high`` (the sampler's ``coefficient_bounds``).
    """
    tree = trial_system_attrs(trial).get(COEFFICIENT_TREE_KEY)
    if tree is None:
        return suggest_loss_tree(trial, reduction=reduction, untrainable=untrainable)
    return suggest_tree_coefficients(trial, tree, low=low, high=high, reduction=reduction)
