"""The coefficient phase (GLO section III-B): CMA-ES over a tree's free coefficients.

"The coefficient vector is optimized independently and iteratively using ... (mu/mu, lambda)-CMA-ES,
which incorporates weighted rank-mu updates ... [with] an initial step size sigma = 1.5."
Optuna's :class:`~optuna.samplers.CmaEsSampler` is that CMA-ES; it starts here at the all-ones
vector, i.e. at the discovered tree (GLO III-B: "loss functions found by the above genetic algorithm
can all be thought of having unit coefficients").
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from optuna.distributions import FloatDistribution
from optuna.samplers import CmaEsSampler

from optuna_glo.losses.trees import Node, free_coefficient_paths, parse

if TYPE_CHECKING:
    import optuna
    from optuna.distributions import BaseDistribution
    from optuna.samplers import BaseSampler

#: Bounds of every free coefficient. Merged coefficients reach past +/-4 (BaikalCMA's
#: ``c0 * c3 * c4`` is -4.17), so the bounds leave room around the start at 1.
COEFFICIENT_BOUNDS = (-10.0, 10.0)

#: Prefix of the coefficient-phase parameter names: ``glo_c0``, ``glo_c1``, ...
COEFFICIENT_PREFIX = "glo_c"


def coefficient_param_names(tree: Node | str, prefix: str = COEFFICIENT_PREFIX) -> list[str]:
    """The parameter names of ``tree``'s free coefficients (GLO III-B), in tree order."""
    tree = parse(tree) if isinstance(tree, str) else tree
    return [f"{prefix}{i}" for i in range(len(free_coefficient_paths(tree)))]


class CoefficientCmaEsSampler(CmaEsSampler):
    """CMA-ES over one tree's coefficient parameters; other parameters go to an independent sampler.

    The space is known up front, so even the first trial comes from CMA-ES's initial distribution
    (Optuna's default, the intersection of finished trials' spaces, is empty then). Build it with
    :func:`coefficient_sampler`.
    """

    def __init__(
        self, *, param_names: list[str], bounds: tuple[float, float], **kwargs: object
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._coefficient_space: dict[str, BaseDistribution] = {
            name: FloatDistribution(*bounds) for name in param_names
        }

    def infer_relative_search_space(
        self, study: optuna.Study, trial: optuna.trial.FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return dict(self._coefficient_space)


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
    low, high = bounds
    if not low < 1.0 < high:
        raise ValueError(
            f"`bounds` must contain the start 1 (the discovered tree, GLO III-B). The specified "
            f"`bounds` are {bounds}."
        )
    if sigma0 <= 0:
        raise ValueError(f"`sigma0` must be positive. The specified `sigma0` is {sigma0}.")
    if population_size is not None and population_size < 4:
        # CMA-ES's rank-mu update needs mu = population_size // 2 >= 2 parents.
        raise ValueError(
            f"`population_size` must be None or >= 4. The specified `population_size` is "
            f"{population_size}."
        )
    names = coefficient_param_names(tree, prefix)
    # Optuna 5 deprecates `x0` and `sigma0` (removal planned for 6.0; pyproject pins optuna<6) in
    # favour of "centre of the bounds, range / 6", which cannot give GLO's start at all ones with
    # sigma 1.5 and bounds wide enough for tuned coefficients. We pass both and silence the
    # FutureWarning, which is about this call, not the user's. CmaEsSampler works in coordinates
    # normalised to [0, 1] per parameter, so the step size is sigma0 / (high - low) there.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return CoefficientCmaEsSampler(
            param_names=names,
            bounds=bounds,
            x0=dict.fromkeys(names, 1.0),
            sigma0=sigma0 / (high - low),
            popsize=population_size,
            n_startup_trials=0,
            independent_sampler=independent_sampler,
            warn_independent_sampling=False,
            seed=seed,
        )
