"""EPBT's mutation (section 3.2, Stage 2, the operator gamma), on an ``(individuals,
variables)`` array of values, clipped into the space's bounds."""

from __future__ import annotations

import numpy as np

from optuna_glo.samplers.pbt._space import SearchSpace


def gaussian_mutation(
    rng: np.random.Generator,
    values: np.ndarray,
    space: SearchSpace,
    *,
    sigma: float,
    reinit_prob: float,
) -> tuple[np.ndarray, np.ndarray]:
    """EPBT section 3.2, Stage 2, the mutation operator gamma.

    "a uniform mutation operator gamma is applied by introducing multiplicative Gaussian noise
    independently to each variable in h_gi. The mutation operator can randomly and independently
    reinitialize every variable as well." Each value becomes ``value * (1 + sigma * z)`` with
    ``z ~ N(0, 1)``; independently, with probability ``reinit_prob`` it is instead redrawn over
    the bounds (:meth:`SearchSpace.reset`). The paper gives neither rate; the samplers' defaults
    and their reasons are in :class:`~optuna_glo.samplers.pbt.EPBTSampler`.

    Returns:
        The mutated values (clipped into the bounds) and the mask of re-initialised entries.
    """
    noise = rng.standard_normal(values.shape)
    reinit = rng.random(values.shape) < reinit_prob
    fresh = space.reset(rng, values.shape[0])
    mutated = np.where(reinit, fresh, values * (1.0 + sigma * noise))
    return space.clip(mutated), reinit
