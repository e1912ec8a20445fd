"""optuna-glo: search for better neural-network training losses as Optuna studies.

Methods: GLO (Gonzalez & Miikkulainen, CEC 2020), TaylorGLO (Gonzalez & Miikkulainen,
arXiv 2002.00059) and EPBT (Liang, Gonzalez, Shahrzad & Miikkulainen, with its PBT baselines).
Put a loss search into your own objective::

    import optuna_glo

    def objective(trial):
        loss_fn = optuna_glo.suggest_taylor_loss(trial)   # a drop-in for nn.CrossEntropyLoss
        ...

The names below are imported on first use (PEP 562), so ``import optuna_glo`` and the command
line's ``--help`` do not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

#: The public names and the module each is imported from on first use.
_EXPORTS = {
    "EPBTSampler": "optuna_glo.samplers",
    "PBTSampler": "optuna_glo.samplers",
    "sgd_space": "optuna_glo.samplers",
    "taylor_space": "optuna_glo.samplers",
    "GLOSampler": "optuna_glo.samplers",
    "GeneticProgrammingSampler": "optuna_glo.samplers",
    "TaylorGLOSampler": "optuna_glo.samplers",
    "coefficient_sampler": "optuna_glo.samplers",
    "taylorglo_sampler": "optuna_glo.samplers",
    "load_loss": "optuna_glo.suggest",
    "suggest_glo_loss": "optuna_glo.suggest",
    "suggest_loss_tree": "optuna_glo.suggest",
    "suggest_taylor_loss": "optuna_glo.suggest",
    "suggest_tree_coefficients": "optuna_glo.suggest",
    "taylor_param_names": "optuna_glo.suggest",
}

#: Subpackages, also imported on first use (``optuna_glo.samplers.gp`` after ``import optuna_glo``).
_SUBPACKAGES = frozenset(
    {"cli", "keys", "losses", "objectives", "reports", "runtime", "samplers", "suggest"}
)

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


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups find it without coming here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
