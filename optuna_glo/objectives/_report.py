"""A candidate's validation accuracy reported to its trial while it trains, for Optuna's pruners.

Every checkpoint of the training loop (``eval_every`` steps) is ``trial.report(accuracy, step)``:
Optuna's intermediate values, which optuna-dashboard draws as learning curves. Then
``trial.should_prune()`` asks the study's pruner (whichever the user gave the study: median,
successive halving, Hyperband, ...); a pruned candidate stops training and its trial ends
``PRUNED``, valued by Optuna at its last reported accuracy. The objective layer knows no pruner:
the study holds it.
"""

from __future__ import annotations

from collections.abc import Sequence

import optuna

from optuna_glo.objectives._loop import TrainResult

#: Checkpoints per partial-training run when ``eval_every`` is not given.
DEFAULT_CHECKPOINTS = 10


def checkpoint_interval(steps: int, eval_every: int | None) -> int | None:
    """Steps between checkpoints: ``eval_every``, default a tenth of the run; 0 means none."""
    if eval_every is None:
        return max(1, steps // DEFAULT_CHECKPOINTS)
    if eval_every < 0:
        raise ValueError(f"`eval_every` must be >= 0. The specified `eval_every` is {eval_every}.")
    return eval_every or None


class TrialReporter:
    """Reports candidates' accuracies to their trials and asks the study's pruner about each.

    Its :meth:`on_eval` is the training loop's ``on_eval`` for candidates ``0..k-1`` (trial ``i``
    is candidate ``i``). A step is reported once per trial: a retry after TaylorGLO's abort rule
    (appendix A.5) trains the steps again, and Optuna keeps a step's first value.

    Args:
        trials: The candidates' running trials.
    """

    def __init__(self, trials: Sequence[optuna.trial.Trial]) -> None:
        self.trials = list(trials)
        self._reported: list[set[int]] = [set() for _ in self.trials]

    def report(self, i: int, step: int, value: float) -> None:
        """``trials[i].report(value, step)``, unless that step is reported already."""
        if step not in self._reported[i]:
            self.trials[i].report(value, step)
            self._reported[i].add(step)

    def on_eval(self, step: int, members: list[int], accuracies: list[float]) -> list[int]:
        """Report each member's accuracy at ``step``; the members the pruner prunes."""
        for i, accuracy in zip(members, accuracies, strict=True):
            self.report(i, step, accuracy)
        return [i for i in members if self._should_prune(i)]

    def outcome(self, i: int, result: TrainResult) -> float | optuna.TrialPruned:
        """Candidate ``i``'s value (reported as its last point), or the ``TrialPruned`` to raise
        or tell (its trial's value is then its last reported accuracy)."""
        self.report(i, result.steps, result.value)
        if result.pruned:
            return optuna.TrialPruned(
                f"Trial {self.trials[i].number} was pruned at step {result.steps} (validation "
                f"accuracy {result.val_accuracy:.4f})."
            )
        return result.value

    def _should_prune(self, i: int) -> bool:
        trial = self.trials[i]
        # Without a pruner, no storage read per checkpoint.
        if isinstance(trial.study.pruner, optuna.pruners.NopPruner):
            return False
        return trial.should_prune()
