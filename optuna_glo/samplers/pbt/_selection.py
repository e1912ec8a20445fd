"""Who becomes a parent and who survives: tournament selection and elitism (EPBT section 3.2),
truncation (PBT, EPBT section 4.1).

Every function takes the fitness of the population as an array (higher is fitter) and returns
indices into it; ties go to the lower index, so the caller's order (trial number) breaks them.
"""

from __future__ import annotations

import math

import numpy as np


def tournament(
    rng: np.random.Generator, fitness: np.ndarray, n_parents: int, *, size: int = 2
) -> np.ndarray:
    """EPBT section 3.2, Stage 1: ``n_parents`` winners of tournaments of ``size`` individuals.

    "t individuals are repeatedly chosen at random from M_g. Each time, the individuals are
    compared and the one with the highest fitness is added to M^_g. This process is repeated until
    |M^_g| = |M_g| - k" (the caller passes ``n_parents = p - k``; EPBT uses ``t = 2``). The
    entrants of one tournament are distinct individuals (a tournament of an individual with
    itself would be no comparison); an individual can win several tournaments.

    Args:
        rng: The generator of this generation.
        fitness: Fitness of each individual (higher is better).
        n_parents: Number of tournaments, hence of parents.
        size: Entrants per tournament (``t``); at most the population size is used.

    Returns:
        The index of each tournament's winner, in tournament order.
    """
    n = len(fitness)
    if n == 0:
        raise ValueError("Tournament selection needs a non-empty population.")
    t = min(size, n)
    winners = np.empty(n_parents, dtype=np.intp)
    for i in range(n_parents):
        entrants = np.sort(rng.choice(n, size=t, replace=False))
        winners[i] = entrants[np.argmax(fitness[entrants])]  # first maximum: the lower index
    return winners


def best(fitness: np.ndarray, k: int) -> np.ndarray:
    """The indices of the ``k`` fittest individuals, best first (ties: lower index first).

    EPBT's elitism (section 3.2, Stage 3: "M_g is sorted by f_gi and the best k performing
    individuals are preserved") and PBT's top quantile both take these.
    """
    return np.argsort(-np.asarray(fitness, dtype=float), kind="stable")[: max(k, 0)]


def quantile_size(n: int, fraction: float) -> int:
    """How many individuals a PBT quantile holds: ``ceil(fraction * n)``, at most ``n // 2``.

    The rounding is Ray Tune's (``PopulationBasedTraining``, ``quantile_fraction``), the library
    of the PBT work EPBT section 4.1 configured its baseline after (Ho et al., 2019); the cap keeps
    the top and bottom quantiles disjoint. 25% of 40 is 10.
    """
    return min(math.ceil(fraction * n), n // 2)


def truncation(
    rng: np.random.Generator, fitness: np.ndarray, fraction: float
) -> dict[int, int]:
    """PBT's exploit step (EPBT section 4.1): "the weights and loss parameters from the top 25%
    of the population were copied over to the bottom 25% every generation".

    Each individual of the bottom quantile copies one of the top quantile drawn uniformly at
    random (Jaderberg et al., 2017, truncation selection).

    Args:
        rng: The generator of this generation.
        fitness: Fitness of each individual (higher is better).
        fraction: Size of each quantile as a fraction of the population (0.25).

    Returns:
        ``{bottom index: top index it copies}``; the other individuals are not in it.
    """
    n = len(fitness)
    n_q = quantile_size(n, fraction)
    if n_q == 0:
        return {}
    order = best(fitness, n)
    top, bottom = order[:n_q], np.sort(order[n - n_q :])
    sources = rng.integers(n_q, size=n_q)
    return {int(b): int(top[s]) for b, s in zip(bottom, sources, strict=True)}
