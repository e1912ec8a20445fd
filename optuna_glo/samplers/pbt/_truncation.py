"""PBT's exploit step: truncation selection (EPBT section 4.1; Jaderberg et al., 2017)."""

from __future__ import annotations

import math

import numpy as np

from optuna_glo.samplers.pbt._elitism import best


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
