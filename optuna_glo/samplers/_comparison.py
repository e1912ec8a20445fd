"""The sampler of a comparison of fixed losses: every grid point once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from optuna.samplers import GridSampler

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial, TrialState


class ComparisonGridSampler(GridSampler):
    """Optuna's ``GridSampler`` for ask-and-tell workers.

    ``GridSampler.after_trial`` calls ``study.stop()`` once the grid is covered, which only works
    inside ``study.optimize``; from ``study.tell`` it raises. Our workers stop by themselves when
    the study's budget (the grid size) is reached, so nothing needs stopping here.
    """

    def after_trial(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        return None
