"""Samplers of optuna-glo: searches over losses, shaped like Optuna's own samplers."""

from optuna_glo.samplers._comparison import ComparisonGridSampler
from optuna_glo.samplers._taylorglo import TaylorGLOSampler, taylor_param_names, taylorglo_sampler
from optuna_glo.samplers.gp import GeneticProgrammingSampler, GLOSampler, coefficient_sampler

__all__ = [
    "ComparisonGridSampler",
    "GLOSampler",
    "GeneticProgrammingSampler",
    "TaylorGLOSampler",
    "coefficient_sampler",
    "taylor_param_names",
    "taylorglo_sampler",
]
