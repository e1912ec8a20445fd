"""Parent selection: elitism and roulette sampling (GLO section III-A).

"The genetic algorithm has a population size of 80, incorporates elitism with 6 elites per
generation, and uses roulette-sampling."
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial


def fitness_order(trials: Sequence[FrozenTrial], direction: StudyDirection) -> list[FrozenTrial]:
    """``trials`` best first; ties go to the earlier trial."""
    sign = -1.0 if direction == StudyDirection.MAXIMIZE else 1.0
    return sorted(trials, key=lambda t: (sign * float(t.values[0]), t.number))


def select_elites(
    trials: Sequence[FrozenTrial],
    n_elites: int,
    direction: StudyDirection,
    key_of: dict[int, str],
) -> list[FrozenTrial]:
    """The best ``n_elites`` trials with distinct cache keys (``key_of``: trial number -> key).

    Distinct, because a population can hold one tree several times (an elite carried over and a
    child that came out equal); carrying copies would shrink the search.
    """
    elites: list[FrozenTrial] = []
    seen: set[str] = set()
    for trial in fitness_order(trials, direction):
        key = key_of[trial.number]
        if key in seen:
            continue
        seen.add(key)
        elites.append(trial)
        if len(elites) == n_elites:
            break
    return elites


def roulette_weights(values: Sequence[float], direction: StudyDirection) -> np.ndarray:
    """Selection probabilities proportional to fitness.

    Maximizing (GLO: fitness is validation accuracy), the weight is the value, clipped at 0. When
    minimizing, it is the distance to the worst value. Equal or all-zero fitness gives uniform
    weights.
    """
    v = np.asarray(values, dtype=float)
    v = np.where(np.isfinite(v), v, np.nan)
    if direction == StudyDirection.MAXIMIZE:
        w = np.clip(np.nan_to_num(v, nan=0.0), 0.0, None)
    else:
        worst = np.nanmax(v) if np.isfinite(v).any() else 0.0
        w = np.nan_to_num(worst - v, nan=0.0)
    total = w.sum()
    if not np.isfinite(total) or total <= 0.0:
        return np.full(len(v), 1.0 / len(v))
    return w / total


def roulette(rng: np.random.Generator, weights: np.ndarray, k: int) -> list[int]:
    """``k`` indices drawn independently with probabilities ``weights`` (roulette sampling)."""
    return [int(i) for i in rng.choice(len(weights), size=k, p=weights)]
