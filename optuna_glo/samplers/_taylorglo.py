"""TaylorGLO's search: CMA-ES with the paper's settings (TaylorGLO sections 4 and 5)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from optuna_glo.keys import LR_COORDINATE_PARAM, THETA_BOUNDS, THETA_PREFIX
from optuna_glo.losses import n_taylor_params
from optuna_glo.samplers.cmaes import FixedSpaceCmaEsSampler

if TYPE_CHECKING:
    from optuna.samplers import BaseSampler


def taylor_param_names(order: int = 3, prefix: str = THETA_PREFIX) -> list[str]:
    """The Optuna parameter names of an order-``order`` TaylorGLO loss, in eq. 5's order."""
    return [f"{prefix}{i}" for i in range(n_taylor_params(order))]


class TaylorGLOSampler(FixedSpaceCmaEsSampler):
    """CMA-ES over the ``taylor_theta_*`` parameters only (see :class:`FixedSpaceCmaEsSampler`).

    Build it with :func:`taylorglo_sampler`.
    """


def taylorglo_sampler(
    *,
    order: int = 3,
    population_size: int = 28,
    sigma0: float = 1.2,
    bounds: tuple[float, float] = THETA_BOUNDS,
    prefix: str = THETA_PREFIX,
    independent_sampler: BaseSampler | None = None,
    seed: int | None = None,
    search_lr: bool = False,
) -> TaylorGLOSampler:
    """A CMA-ES sampler set up as TaylorGLO ran it.

    TaylorGLO section 5: CMA-ES with population size lambda = 28 on MNIST (20 on CIFAR-10), initial
    step size sigma = 1.2, and section 4: initial mean theta = 0 "to avoid bias".

    Args:
        order: Order of the Taylor polynomial the objective suggests (3 in the paper).
        population_size: CMA-ES lambda.
        sigma0: Initial step size in parameter units.
        bounds: ``(low, high)`` of every parameter, as passed to ``suggest_taylor_loss``.
        prefix: Parameter-name prefix, as passed to ``suggest_taylor_loss``.
        independent_sampler: Samples any other parameters of the trial (default: random).
        seed: Seed for reproducible studies.
        search_lr: Add the learning rate to the space: one more coordinate,
            ``keys.LR_COORDINATE_PARAM``, in the same bounds, that ``suggest.suggest_taylor_lr``
            maps onto a log scale of rates (issue 12.4: loss and rate found together).
    """
    low, high = bounds
    if not low < 0.0 < high:
        raise ValueError(
            f"`bounds` must contain the initial mean 0 (TaylorGLO section 4). The specified "
            f"`bounds` are {bounds}."
        )
    if population_size < 2:
        raise ValueError(
            f"`population_size` must be greater than or equal to 2. The specified "
            f"`population_size` is {population_size}."
        )
    # Bounds wide enough for the best theta (|theta| up to 12.7, appendix C) would make Optuna's
    # CmaEsSampler start at their centre with step size range / 6 >= 4.2, not 1.2: hence our own.
    return TaylorGLOSampler(
        param_names=[*taylor_param_names(order, prefix), *([LR_COORDINATE_PARAM] * search_lr)],
        bounds=bounds, start=0.0, sigma0=sigma0,
        population_size=population_size, independent_sampler=independent_sampler, seed=seed,
    )
