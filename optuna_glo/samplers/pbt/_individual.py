"""The members of a population as the operators see them, read from finished trials."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import optuna
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial

from optuna_glo.keys import LINEAGE_KEY
from optuna_glo.samplers.pbt._attrs import individual_values
from optuna_glo.samplers.pbt._space import SearchSpace
from optuna_glo.samplers.pbt._ticket import Layout

_logger = optuna.logging.get_logger(__name__)


@dataclass(frozen=True)
class Individual:
    """A member of a population (EPBT section 3.1's ``{D, h, f}``): its latest trial (whose
    checkpoint holds the weights D), the values h it trained with, its fitness f (higher is
    better, whatever the study direction), its lineage and its trial's slot."""

    trial: FrozenTrial
    values: np.ndarray
    fitness: float
    lineage: int
    slot: int


@dataclass(frozen=True)
class Assignment:
    """What a slot gets: values, the trial whose weights it inherits, its lineage, a note."""

    values: np.ndarray
    parent: int | None
    lineage: int | None
    origin: str


def individuals(
    study: optuna.Study,
    space: SearchSpace,
    layout: Layout,
    trials: Sequence[FrozenTrial],
    where: Mapping[int, int],
) -> list[Individual]:
    """The completed ``trials`` as individuals (``where``: trial number -> ordinal); a trial
    whose stored values do not parse, or that has no value for a variable of ``space``, is left
    out, with a warning."""
    sign = 1.0 if study.direction == StudyDirection.MAXIMIZE else -1.0
    out = []
    for t in trials:
        try:
            values = individual_values(t, space)
        except ValueError as e:
            _logger.warning(f"Trial {t.number} is left out of the population: {e}")
            continue
        if values is None or t.value is None:
            continue
        lineage = t.system_attrs.get(LINEAGE_KEY)
        out.append(
            Individual(
                trial=t,
                values=values,
                fitness=sign * float(t.value),
                lineage=lineage if isinstance(lineage, int) else t.number,
                slot=layout.locate(where[t.number])[1],
            )
        )
    return out
