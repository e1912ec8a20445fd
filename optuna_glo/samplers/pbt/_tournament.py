"""EPBT's tournament selection (section 3.2, Stage 1, the operator tau)."""

from __future__ import annotations

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
