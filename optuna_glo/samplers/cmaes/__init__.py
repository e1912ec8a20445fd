"""CMA-ES over a fixed set of float parameters, its state kept in the study's storage."""

from optuna_glo.samplers.cmaes._sampler import FixedSpaceCmaEsSampler
from optuna_glo.samplers.cmaes._state import GENERATION_KEY

__all__ = ["GENERATION_KEY", "FixedSpaceCmaEsSampler"]
