"""Elitism: the fittest individuals of a population (EPBT section 3.2, Stage 3).

Ties go to the lower index, so the caller's order (trial number) breaks them.
"""

from __future__ import annotations

import numpy as np


def best(fitness: np.ndarray, k: int) -> np.ndarray:
    """The indices of the ``k`` fittest individuals, best first (ties: lower index first).

    EPBT's elitism (section 3.2, Stage 3: "M_g is sorted by f_gi and the best k performing
    individuals are preserved") and PBT's top quantile both take these.
    """
    return np.argsort(-np.asarray(fitness, dtype=float), kind="stable")[: max(k, 0)]
