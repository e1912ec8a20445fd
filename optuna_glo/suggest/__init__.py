"""The bridge from an Optuna trial to a loss object, and back from a stored trial to its loss.

* :func:`suggest_taylor_loss`: a TaylorGLO loss from the trial's parameters (TaylorGLO eq. 5);
* :func:`suggest_loss_tree`, :func:`suggest_tree_coefficients`, :func:`suggest_glo_loss`: a GLO
  expression-tree loss carried by the GP sampler, and its coefficient phase (GLO III-A, III-B);
* :func:`load_loss`, :func:`best_trial`, :func:`resolve_loss`: the loss of a finished trial.

This layer sits above ``samplers`` and ``objectives`` (it may import both) and below ``runtime``.
"""

from optuna_glo.samplers import taylor_param_names
from optuna_glo.suggest._load import (
    LOSS_READERS,
    LossReader,
    best_trial,
    load_loss,
    read_taylor_loss,
    read_tree_loss,
    resolve_loss,
    resolve_trial,
    trial_lr,
)
from optuna_glo.suggest._taylor import suggest_taylor_loss, suggest_taylor_lr
from optuna_glo.suggest._tree import (
    UNTRAINABLE_FITNESS,
    SuggestedTreeLoss,
    suggest_glo_loss,
    suggest_loss_tree,
    suggest_tree_coefficients,
)

__all__ = [
    "LOSS_READERS",
    "UNTRAINABLE_FITNESS",
    "LossReader",
    "SuggestedTreeLoss",
    "best_trial",
    "load_loss",
    "read_taylor_loss",
    "read_tree_loss",
    "resolve_loss",
    "resolve_trial",
    "suggest_glo_loss",
    "suggest_loss_tree",
    "suggest_taylor_loss",
    "suggest_taylor_lr",
    "suggest_tree_coefficients",
    "taylor_param_names",
    "trial_lr",
]
