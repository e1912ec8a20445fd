"""TaylorGLO's loss-function search as an OptunaHub sampler package, re-exported from optuna-glo.

The implementation lives in the ``optuna-glo`` package (a dependency: see ``requirements.txt``);
this package only gives it OptunaHub's name, ``samplers/taylorglo``.
"""

from __future__ import annotations

from optuna_glo import (
    TaylorGLOSampler,
    load_loss,
    suggest_taylor_loss,
    taylor_param_names,
    taylorglo_sampler,
)
from optuna_glo.losses import readable_formula

__all__ = [
    "TaylorGLOSampler",
    "load_loss",
    "readable_formula",
    "suggest_taylor_loss",
    "taylor_param_names",
    "taylorglo_sampler",
]
