"""The genetic-programming loss sampler of GLO (section III-A), laid out like Optuna's NSGA-II."""

from optuna_glo.samplers.gp._attrs import (
    CACHED_FROM_ATTR,
    CACHED_FROM_KEY,
    CANONICAL_KEY,
    FORMULA_ATTR,
    ORIGIN_ATTR,
    ORIGIN_KEY,
    SLOT_KEY,
    TREE_ATTR,
    TREE_KEY,
    UNTRAINABLE_ATTR,
    stored_system_attrs,
    trial_system_attrs,
)
from optuna_glo.samplers.gp._child_generation import GPChildGenerationStrategy
from optuna_glo.samplers.gp._coefficients import (
    COEFFICIENT_BOUNDS,
    COEFFICIENT_PREFIX,
    CoefficientCmaEsSampler,
    coefficient_param_names,
    coefficient_sampler,
)
from optuna_glo.samplers.gp._crossover import subtree_crossover
from optuna_glo.samplers.gp._glo import COEFFICIENT_TREE_KEY, GLOSampler
from optuna_glo.samplers.gp._mutation import MutationRates, mutate
from optuna_glo.samplers.gp._sampler import GeneticProgrammingSampler
from optuna_glo.samplers.gp._selection import roulette, roulette_weights, select_elites

__all__ = [
    "CACHED_FROM_ATTR",
    "CACHED_FROM_KEY",
    "CANONICAL_KEY",
    "COEFFICIENT_BOUNDS",
    "COEFFICIENT_PREFIX",
    "COEFFICIENT_TREE_KEY",
    "FORMULA_ATTR",
    "ORIGIN_ATTR",
    "ORIGIN_KEY",
    "SLOT_KEY",
    "TREE_ATTR",
    "TREE_KEY",
    "UNTRAINABLE_ATTR",
    "CoefficientCmaEsSampler",
    "GLOSampler",
    "GPChildGenerationStrategy",
    "GeneticProgrammingSampler",
    "MutationRates",
    "coefficient_param_names",
    "coefficient_sampler",
    "mutate",
    "roulette",
    "roulette_weights",
    "select_elites",
    "stored_system_attrs",
    "subtree_crossover",
    "trial_system_attrs",
]
