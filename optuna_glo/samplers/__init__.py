"""Samplers of optuna-glo: searches over losses, shaped like Optuna's own samplers."""

from optuna_glo.samplers._taylorglo import TaylorGLOSampler, taylorglo_sampler

__all__ = [
    "TaylorGLOSampler",
    "taylorglo_sampler",
]
