"""PBT's explore step (EPBT section 4.1; Jaderberg et al., 2017): perturb or resample."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from optuna_glo.samplers.pbt._space import SearchSpace


def explore(
    rng: np.random.Generator,
    values: np.ndarray,
    space: SearchSpace,
    *,
    factors: Sequence[float],
    resample_prob: float,
) -> np.ndarray:
    """PBT's explore step (EPBT section 4.1: "a mixture of both random resets and multiplicative
    perturbations of magnitude 1.2").

    Each value is, independently, resampled over the bounds with probability ``resample_prob``,
    otherwise multiplied by one of ``factors`` drawn uniformly (1.2 or 0.8: Jaderberg et al.,
    2017, "randomly perturb the hyperparameter by a factor of 0.8 or 1.2"), then clipped.
    """
    picks = rng.integers(len(factors), size=values.shape)
    resample = rng.random(values.shape) < resample_prob
    fresh = space.reset(rng, values.shape[0])
    perturbed = values * np.asarray(factors, dtype=float)[picks]
    return space.clip(np.where(resample, fresh, perturbed))
