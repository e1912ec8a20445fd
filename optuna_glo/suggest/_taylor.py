"""The bridge from an Optuna trial to a loss object (TaylorGLO)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from optuna_glo.keys import (
    FORMULA_ATTR,
    LR_ATTR,
    LR_COORDINATE_PARAM,
    TAYLOR_FORM_ATTR,
    THETA_BOUNDS,
    THETA_PREFIX,
)
from optuna_glo.losses import (
    DEFAULT_TAYLOR_FORM,
    TaylorGLOLoss,
    check_taylor_form,
    readable_formula,
)
from optuna_glo.samplers import taylor_param_names

if TYPE_CHECKING:
    import optuna


def suggest_taylor_loss(
    trial: optuna.trial.BaseTrial,
    order: int = 3,
    *,
    low: float = THETA_BOUNDS[0],
    high: float = THETA_BOUNDS[1],
    prefix: str = THETA_PREFIX,
    form: str = DEFAULT_TAYLOR_FORM,
) -> TaylorGLOLoss:
    """Suggest a TaylorGLO loss (TaylorGLO eq. 5 at order 3) for ``trial``.

    The loss is a drop-in for ``torch.nn.CrossEntropyLoss``; put it next to your own
    hyperparameters in one objective::

        def objective(trial):
            loss_fn = optuna_glo.suggest_taylor_loss(trial)
            lr = trial.suggest_float("lr", 1e-3, 1.0, log=True)
            ...
            return validation_accuracy

    Args:
        trial: The Optuna trial.
        order: Order ``k`` of the Taylor polynomial; ``2 + k(k+1)/2`` parameters.
        low: Lower bound of every parameter.
        high: Upper bound of every parameter.
        prefix: Parameter-name prefix (change it to search two losses in one trial).
        form: ``"code"`` (default: the authors' released code, the form in which TaylorGLO's
            published thetas were found and in which the default bounds hold them) or ``"eq5"``
            (as printed); see :mod:`optuna_glo.losses`'s ``TaylorGLOLoss``.

    Returns:
        The trial's :class:`~optuna_glo.losses.TaylorGLOLoss`. Its readable formula (rounded, as
        a polynomial in x and y: see :func:`~optuna_glo.losses.readable_formula`; the parameters
        are exact) is stored in the trial's user attribute ``"loss_formula"``, its form in
        ``"taylor_form"``.
    """
    if not low < high:
        raise ValueError(f"`low` must be below `high`. The specified bounds are ({low}, {high}).")
    check_taylor_form(form)
    theta = [trial.suggest_float(name, low, high) for name in taylor_param_names(order, prefix)]
    loss = TaylorGLOLoss(theta, form=form)
    trial.set_user_attr(FORMULA_ATTR, readable_formula(loss))
    trial.set_user_attr(TAYLOR_FORM_ATTR, form)
    return loss


def suggest_taylor_lr(
    trial: optuna.trial.BaseTrial,
    lr_low: float,
    lr_high: float,
    *,
    bound: float = THETA_BOUNDS[1],
) -> float:
    """Suggest the learning rate of ``trial``'s candidate, on a log scale, next to its theta.

    The CMA-ES of TaylorGLO has one box and one step size for every coordinate
    (``samplers.taylorglo_sampler``), so the rate is a coordinate ``u`` in the thetas' box
    ``[-bound, bound]`` (parameter ``keys.LR_COORDINATE_PARAM``) mapped linearly onto the log of
    the rates: ``log lr = log lr_low + (u + bound) / (2 bound) * (log lr_high - log lr_low)``.
    CMA-ES's start ``u = 0`` is the geometric mean of ``lr_low`` and ``lr_high``; its initial
    step size 1.2 on a bound of 20 is 3% of the log range. The rate is stored in the trial's user
    attribute ``"lr"`` (``keys.LR_ATTR``), which the objective trains with.

    Returns:
        The learning rate.
    """
    if not 0 < lr_low < lr_high or not math.isfinite(lr_high):
        raise ValueError(
            f"The learning-rate range must satisfy 0 < low < high. The specified range is "
            f"({lr_low}, {lr_high})."
        )
    u = trial.suggest_float(LR_COORDINATE_PARAM, -bound, bound)
    fraction = (u + bound) / (2 * bound)
    lr = math.exp(math.log(lr_low) + fraction * (math.log(lr_high) - math.log(lr_low)))
    trial.set_user_attr(LR_ATTR, lr)
    return lr
