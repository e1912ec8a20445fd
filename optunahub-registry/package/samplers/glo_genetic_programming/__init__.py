"""GLO's loss-function search as an OptunaHub sampler package, re-exported from optuna-glo.

Genetic programming over loss expression trees, then CMA-ES over the best tree's coefficients.
The implementation lives in the ``optuna-glo`` package (a dependency: see ``requirements.txt``);
this package only gives it OptunaHub's name, ``samplers/glo_genetic_programming``.
"""

from __future__ import annotations

from optuna_glo import (
    GeneticProgrammingSampler,
    GLOSampler,
    coefficient_sampler,
    load_loss,
    suggest_glo_loss,
    suggest_loss_tree,
    suggest_tree_coefficients,
)
from optuna_glo.losses import readable_formula

__all__ = [
    "GLOSampler",
    "GeneticProgrammingSampler",
    "coefficient_sampler",
    "load_loss",
    "readable_formula",
    "suggest_glo_loss",
    "suggest_loss_tree",
    "suggest_tree_coefficients",
]
