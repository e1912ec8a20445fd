"""optuna-glo: search for better neural-network training losses as Optuna studies.

Methods: GLO (Gonzalez & Miikkulainen, CEC 2020), TaylorGLO (Gonzalez & Miikkulainen,
arXiv 2002.00059) and EPBT (Liang, Gonzalez, Shahrzad & Miikkulainen, with its PBT baselines).
Put a loss search into your own objective::

    import optuna_glo

    def objective(trial):
        loss_fn = optuna_glo.suggest_taylor_loss(trial)   # a drop-in for nn.CrossEntropyLoss
        ...
"""

from optuna_glo.samplers import (
    EPBTSampler,
    GeneticProgrammingSampler,
    GLOSampler,
    PBTSampler,
    TaylorGLOSampler,
    coefficient_sampler,
    sgd_space,
    taylor_space,
    taylorglo_sampler,
)
from optuna_glo.suggest import (
    load_loss,
    suggest_glo_loss,
    suggest_loss_tree,
    suggest_taylor_loss,
    suggest_tree_coefficients,
    taylor_param_names,
)

__version__ = "0.1.0"

__all__ = [
    "EPBTSampler",
    "GLOSampler",
    "GeneticProgrammingSampler",
    "PBTSampler",
    "TaylorGLOSampler",
    "__version__",
    "coefficient_sampler",
    "load_loss",
    "sgd_space",
    "suggest_glo_loss",
    "suggest_loss_tree",
    "suggest_taylor_loss",
    "suggest_tree_coefficients",
    "taylor_param_names",
    "taylor_space",
    "taylorglo_sampler",
]
