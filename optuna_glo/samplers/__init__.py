"""Samplers of optuna-glo: searches over losses, shaped like Optuna's own samplers."""

from optuna_glo.samplers._comparison import ComparisonGridSampler
from optuna_glo.samplers._taylorglo import TaylorGLOSampler, taylor_param_names, taylorglo_sampler
from optuna_glo.samplers.gp import GeneticProgrammingSampler, GLOSampler, coefficient_sampler
from optuna_glo.samplers.pbt import EPBTSampler, PBTSampler, sgd_space, taylor_space

__all__ = [
    "ComparisonGridSampler",
    "EPBTSampler",
    "GLOSampler",
    "GeneticProgrammingSampler",
    "PBTSampler",
    "TaylorGLOSampler",
    "coefficient_sampler",
    "sgd_space",
    "taylor_param_names",
    "taylor_space",
    "taylorglo_sampler",
]
