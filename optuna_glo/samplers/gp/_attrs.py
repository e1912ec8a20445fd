"""Where the GP sampler keeps its state: trial and study attributes in the storage.

Trees cannot be Optuna parameters (a custom distribution does not survive an RDB storage), so the
sampler writes each trial's tree as text into the trial's system attributes in ``before_trial``,
and a readable copy into its user attributes for optuna-dashboard.
"""

from __future__ import annotations

from typing import Any

import optuna
from optuna.trial import FrozenTrial

from optuna_glo.keys import (  # noqa: F401  (keys the GP sampler shares with other layers)
    CACHED_FROM_ATTR,
    CACHED_FROM_KEY,
    CANONICAL_KEY,
    FORMULA_ATTR,
    ORIGIN_ATTR,
    TREE_ATTR,
    TREE_KEY,
    UNTRAINABLE_ATTR,
)

_PREFIX = "GeneticProgrammingSampler:"
#: Trial system attr: the trial's slot in its generation (elites first, then child pairs).
SLOT_KEY = _PREFIX + "slot"
#: Trial system attr: how the tree was made ("random", "elite", "crossover", "copy").
ORIGIN_KEY = _PREFIX + "origin"
#: Study system attr: the seed shared by all workers when the sampler was given ``seed=None``.
SEED_KEY = _PREFIX + "seed"



def stored_system_attrs(study: optuna.Study, trial: FrozenTrial) -> dict[str, Any]:
    """A trial's system attrs read from the storage, for sampler hooks whose ``trial`` snapshot
    predates ``before_trial`` (``infer_relative_search_space``, ``sample_relative``, ...)."""
    return study._storage.get_trial_system_attrs(trial._trial_id)


def trial_system_attrs(trial: optuna.trial.BaseTrial | FrozenTrial) -> dict[str, Any]:
    """A trial's system attrs as the storage has them now.

    A live :class:`optuna.Trial` caches a snapshot taken before the sampler's ``before_trial``
    wrote the tree, so its ``system_attrs`` miss it: read the storage instead.
    """
    if isinstance(trial, FrozenTrial):
        return trial.system_attrs
    if isinstance(trial, optuna.Trial):
        return trial.study._storage.get_trial_system_attrs(trial._trial_id)
    raise TypeError(
        f"`trial` must be an optuna.Trial or a FrozenTrial. It is a {type(trial).__name__}."
    )
