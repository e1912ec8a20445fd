"""The genetic-programming loss sampler of GLO (section III-A), laid out like Optuna's NSGA-II.

The public surface is the samplers and the GP operators; where the sampler keeps its state in the
storage is its own business (``_attrs``), and keys other layers read are in ``optuna_glo.keys``.
"""

from optuna_glo.samplers.gp._attrs import stored_system_attrs, trial_system_attrs
from optuna_glo.samplers.gp._child_generation import GPChildGenerationStrategy
from optuna_glo.samplers.gp._coefficients import (
    CoefficientCmaEsSampler,
    coefficient_param_names,
    coefficient_sampler,
)
from optuna_glo.samplers.gp._crossover import subtree_crossover
from optuna_glo.samplers.gp._glo import GLOSampler
from optuna_glo.samplers.gp._mutation import MutationRates, mutate
from optuna_glo.samplers.gp._sampler import GeneticProgrammingSampler
from optuna_glo.samplers.gp._selection import roulette, roulette_weights, select_elites

__all__ = [
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
