"""EPBT's uniform crossover (section 3.2, Stage 2, the operator xi)."""

from __future__ import annotations

import numpy as np


def uniform_crossover(
    rng: np.random.Generator, values: np.ndarray, *, prob: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """Cross every row of ``values`` with another row.

    "a uniform crossover operator xi is applied, where each variable in h_gi is randomly swapped
    (50% probability) with the same variable from another individual in M^_g". Each row picks one
    partner among the other rows, uniformly, and takes each of the partner's variables with
    probability ``prob``. Partners' values are read from ``values`` as given (the mutated parents,
    before any swap), so the result does not depend on the order of the rows. A single row has
    no partner and is returned unchanged.

    Args:
        rng: The generator of this generation.
        values: ``(parents, variables)``: the mutated values of the parent set M^_g.
        prob: Probability of taking each variable from the partner (EPBT: 0.5).

    Returns:
        The children's values and the index of each row's partner (its own index when alone).
    """
    n = len(values)
    if n < 2:
        return values.copy(), np.arange(n)
    partners = (np.arange(n) + rng.integers(1, n, size=n)) % n  # uniform over the other rows
    swap = rng.random(values.shape) < prob
    return np.where(swap, values[partners], values), partners
