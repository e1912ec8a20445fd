"""Population-based training of losses and hyperparameters as Optuna samplers.

:class:`EPBTSampler` is EPBT (Liang, Gonzalez, Shahrzad and Miikkulainen, "Regularized
Evolutionary Population-Based Training", section 3, Algorithm 1); :class:`PBTSampler` is PBT as
that paper's baselines ran it (section 4.1). A trial is one training segment of one individual;
it inherits the weights of the trial :func:`parent_of` names. The operators are pure functions
of numpy arrays and an explicit generator.
"""

from optuna_glo.samplers.pbt._attrs import generation_of, lineage_of, parent_of, start_epoch
from optuna_glo.samplers.pbt._crossover import uniform_crossover
from optuna_glo.samplers.pbt._elitism import best
from optuna_glo.samplers.pbt._epbt import EPBTSampler
from optuna_glo.samplers.pbt._explore import explore
from optuna_glo.samplers.pbt._mutation import gaussian_mutation
from optuna_glo.samplers.pbt._pbt import PBT_TAYLOR_INIT, PBTSampler
from optuna_glo.samplers.pbt._space import (
    SGD_LR_BOUNDS,
    SGD_MOMENTUM_BOUNDS,
    TAYLOR_BOUNDS,
    SearchSpace,
    Variable,
    sgd_space,
    taylor_space,
)
from optuna_glo.samplers.pbt._tournament import tournament
from optuna_glo.samplers.pbt._truncation import quantile_size, truncation

__all__ = [
    "PBT_TAYLOR_INIT",
    "SGD_LR_BOUNDS",
    "SGD_MOMENTUM_BOUNDS",
    "TAYLOR_BOUNDS",
    "EPBTSampler",
    "PBTSampler",
    "SearchSpace",
    "Variable",
    "best",
    "explore",
    "gaussian_mutation",
    "generation_of",
    "lineage_of",
    "parent_of",
    "quantile_size",
    "sgd_space",
    "start_epoch",
    "taylor_space",
    "tournament",
    "truncation",
    "uniform_crossover",
]
