"""EPBT's population-based training of TaylorGLO losses as an OptunaHub sampler package,
re-exported from optuna-glo.

A trial is one training segment of one individual: it starts from the weights of the trial
``parent_of`` names and trains with the TaylorGLO loss ``suggest_taylor_loss`` gives it. The
implementation lives in the ``optuna-glo`` package (a dependency: see ``requirements.txt``); this
package only gives it OptunaHub's name, ``samplers/epbt``. ``PBTSampler`` is EPBT section 4.1's
baseline (truncation: the bottom 25% copy the top 25%'s weights and parameters, then perturb them),
for the same objective.
"""

from __future__ import annotations

from optuna_glo import EPBTSampler, PBTSampler, load_loss, suggest_taylor_loss
from optuna_glo.losses import readable_formula
from optuna_glo.samplers.pbt import generation_of, lineage_of, parent_of, start_epoch

__all__ = [
    "EPBTSampler",
    "PBTSampler",
    "generation_of",
    "lineage_of",
    "load_loss",
    "parent_of",
    "readable_formula",
    "start_epoch",
    "suggest_taylor_loss",
]
