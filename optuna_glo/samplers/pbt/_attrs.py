"""Reading what the population samplers store on a trial: generation, parent, lineage, values.

The samplers write these system attributes in ``before_trial`` (keys in
:mod:`optuna_glo.keys`). A live :class:`optuna.Trial` caches a snapshot taken before that, so the
helpers read the storage for one. Stored values come from a shared database: they are parsed and
bounded here, never trusted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial

from optuna_glo.keys import (
    ASSIGNED_KEY,
    EPBT_GENERATION_KEY,
    LINEAGE_KEY,
    PARENT_KEY,
    PBT_GENERATION_KEY,
)
from optuna_glo.samplers._checks import check_int
from optuna_glo.samplers.pbt._space import SearchSpace

_GENERATION_KEYS = (EPBT_GENERATION_KEY, PBT_GENERATION_KEY)


def system_attrs_of(
    study: optuna.Study, trial: optuna.trial.BaseTrial | FrozenTrial
) -> Mapping[str, Any]:
    """A trial's system attributes: a finished trial's own, a running one's as stored now."""
    if isinstance(trial, FrozenTrial) and trial.state.is_finished():
        return trial.system_attrs
    if isinstance(trial, (optuna.Trial, FrozenTrial)):
        return study._storage.get_trial_system_attrs(trial._trial_id)
    raise TypeError(
        f"`trial` must be an optuna.Trial or a FrozenTrial. It is a {type(trial).__name__}."
    )


def _count(attrs: Mapping[str, Any], key: str) -> int | None:
    value = attrs.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"A trial's `{key}` must be an int >= 0. The stored value is {value!r}.")
    return value


def generation_of(trial: optuna.Trial | FrozenTrial) -> int | None:
    """The generation of a trial of :class:`EPBTSampler` or :class:`PBTSampler` (None: neither).

    A live :class:`optuna.Trial` is read from the storage; a
    :class:`~optuna.trial.FrozenTrial` as it is (read it after the sampler ran).
    """
    if isinstance(trial, optuna.Trial):
        attrs = system_attrs_of(trial.study, trial)
    elif isinstance(trial, FrozenTrial):
        attrs = trial.system_attrs
    else:
        raise TypeError(
            f"`trial` must be an optuna.Trial or a FrozenTrial. It is a {type(trial).__name__}."
        )
    for key in _GENERATION_KEYS:
        generation = _count(attrs, key)
        if generation is not None:
            return generation
    return None


def parent_of(study: optuna.Study, trial: optuna.trial.BaseTrial | FrozenTrial) -> int | None:
    """The number of the trial whose final weights ``trial`` starts from.

    None in generation 0 (fresh weights) and when a generation restarted from fresh weights
    because no individual of the previous population completed.
    """
    return _count(system_attrs_of(study, trial), PARENT_KEY)


def lineage_of(study: optuna.Study, trial: optuna.trial.BaseTrial | FrozenTrial) -> int | None:
    """The number of the generation-0 trial whose weights ``trial``'s weights descend from."""
    return _count(system_attrs_of(study, trial), LINEAGE_KEY)


def start_epoch(generation: int, segment_epochs: int) -> int:
    """The epoch a trial of ``generation`` starts training at: ``generation * segment_epochs``.

    The learning-rate schedule follows the population's total training time (EPBT section 4.1:
    25 generations of 8 epochs "for a total of 200 epochs", under the 200-epoch recipe's
    schedule), so a child of generation g trains epochs ``[g * s, (g + 1) * s)`` of it, whatever
    its parent's own age (an elite carried over untrained is younger than that).
    """
    check_int("generation", generation, 0)
    check_int("segment_epochs", segment_epochs, 1)
    return generation * segment_epochs


def read_assigned(attrs: Mapping[str, Any], space: SearchSpace) -> np.ndarray | None:
    """The values the sampler gave a trial, in ``space``'s order, or None when it gave none.

    Raises:
        ValueError: The stored assignment is not a map of finite floats over ``space``'s names.
    """
    stored = attrs.get(ASSIGNED_KEY)
    if stored is None:
        return None
    if not isinstance(stored, dict) or set(stored) != set(space.names):
        raise ValueError(
            f"A trial's `{ASSIGNED_KEY}` must map the names {list(space.names)} to floats. The "
            f"stored value is {stored!r}."
        )
    return np.array([_finite(stored[name], name) for name in space.names])


def individual_values(trial: FrozenTrial, space: SearchSpace) -> np.ndarray | None:
    """The hyperparameters a finished trial trained with: its params where the objective
    suggested them (an enqueued value wins over the sampler's), else the sampler's assignment;
    clipped into the bounds. None when a name has neither."""
    assigned = read_assigned(trial.system_attrs, space)
    values = []
    for i, name in enumerate(space.names):
        if name in trial.params:
            values.append(_finite(trial.params[name], name))
        elif assigned is not None:
            values.append(float(assigned[i]))
        else:
            return None
    return space.clip(np.array(values))


def _finite(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"`{name}` must be a finite float. The stored value is {value!r}.")
    return float(value)
