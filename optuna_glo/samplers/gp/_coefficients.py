"""The coefficient phase (GLO section III-B): CMA-ES over a tree's free coefficients.

"The coefficient vector is optimized independently and iteratively using ... (mu/mu, lambda)-CMA-ES,
which incorporates weighted rank-mu updates ... [with] an initial step size sigma = 1.5."
That is :class:`~optuna_glo.samplers.cmaes.FixedSpaceCmaEsSampler`, started here at the all-ones
vector, i.e. at the discovered tree (GLO III-B: "loss functions found by the above genetic algorithm
can all be thought of having unit coefficients").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from optuna_glo.keys import COEFFICIENT_BOUNDS, COEFFICIENT_PREFIX
from optuna_glo.losses.trees import Node, free_coefficient_paths, parse
from optuna_glo.samplers.cmaes import FixedSpaceCmaEsSampler

if TYPE_CHECKING:
    from optuna.samplers import BaseSampler


def coefficient_param_names(tree: Node | str, prefix: str = COEFFICIENT_PREFIX) -> list[str]:
    """The parameter names of ``tree``'s free coefficients (GLO III-B), in tree order."""
    tree = parse(tree) if isinstance(tree, str) else tree
    return [f"{prefix}{i}" for i in range(len(free_coefficient_paths(tree)))]


class CoefficientCmaEsSampler(FixedSpaceCmaEsSampler):
    """CMA-ES over one tree's coefficient parameters (see :class:`FixedSpaceCmaEsSampler`).

    Build it with :func:`coefficient_sampler`.
    """


def coefficient_sampler(
    tree: Node | str,
    *,
    sigma0: float = 1.5,  # GLO III-B: "an initial step size sigma = 1.5"
    bounds: tuple[float, float] = COEFFICIENT_BOUNDS,
    population_size: int | None = None,
    prefix: str = COEFFICIENT_PREFIX,
    independent_sampler: BaseSampler | None = None,
    seed: int | None = None,
) -> CoefficientCmaEsSampler:
    """The CMA-ES sampler of GLO's coefficient phase for ``tree`` (GLO III-B).

    Pair it with :func:`optuna_glo.suggest_tree_coefficients` on the same tree, bounds and prefix.

    Args:
        tree: The discovered tree (or its text) whose free coefficients are tuned.
        sigma0: Initial step size in coefficient units.
        bounds: ``(low, high)`` of every coefficient; must contain the start 1.
        population_size: CMA-ES lambda, at least 4 (default: CMA-ES's ``4 + 3 ln(n)``).
            GLO names none.
        prefix: Parameter-name prefix, as passed to ``suggest_tree_coefficients``.
        independent_sampler: Samples any other parameter of the trial (default: random).
        seed: Seed for reproducible studies.
    """
    if population_size is not None and population_size < 4:
        # CMA-ES's rank-mu update needs mu = population_size // 2 >= 2 parents.
        raise ValueError(
            f"`population_size` must be None or >= 4. The specified `population_size` is "
            f"{population_size}."
        )
    # GLO III-B starts at the discovered tree (all ones) with sigma 1.5, within bounds wide enough
    # for tuned coefficients: Optuna's CmaEsSampler (start at the centre of the bounds, step size
    # range / 6) cannot give that.
    return CoefficientCmaEsSampler(
        param_names=coefficient_param_names(tree, prefix), bounds=bounds, start=1.0,
        sigma0=sigma0, population_size=population_size,
        independent_sampler=independent_sampler, seed=seed,
    )
