"""The schedule an EPBT or PBT individual trained with: its lineage's params per generation.

An individual's weights were trained segment by segment, each segment by one trial with its own
hyperparameters (EPBT section 5 reads a found TaylorGLO loss *schedule* this way). Walking the
parents back from a trial gives that schedule, oldest first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from optuna_glo.samplers.pbt import generation_of, parent_of


@dataclass(frozen=True)
class Segment:
    """One trial of a lineage.

    Attributes:
        trial: Its number.
        generation: Its generation.
        params: The hyperparameters it trained with.
        val_accuracy: Its value (validation accuracy after the segment).
        test_accuracy: Its recorded test accuracy (``None``: not recorded).
        epochs: Epochs its weights had trained at its end, over the whole lineage.
    """

    trial: int
    generation: int | None
    params: dict[str, float]
    val_accuracy: float | None
    test_accuracy: float | None
    epochs: float | None


def lineage_schedule(study: optuna.Study, trial: FrozenTrial) -> list[Segment]:
    """The segments that trained ``trial``'s weights, from generation 0 to ``trial``.

    Raises:
        ValueError: A parent is not a trial of the study, or the chain loops (stored attributes
            are untrusted).
    """
    by_number = {t.number: t for t in study.get_trials(deepcopy=False)}
    chain: list[FrozenTrial] = []
    current: FrozenTrial | None = trial
    while current is not None:
        if len(chain) > len(by_number) or any(t.number == current.number for t in chain):
            raise ValueError(f"The parents of trial {trial.number} form a loop.")
        chain.append(current)
        parent = parent_of(study, current)
        if parent is not None and parent not in by_number:
            raise ValueError(f"Trial {current.number}'s parent {parent} is not in the study.")
        current = None if parent is None else by_number[parent]
    return [segment_of(t) for t in reversed(chain)]


def best_individual(study: optuna.Study) -> FrozenTrial | None:
    """The completed trial with the highest value (the fittest individual ever), or None."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return study.best_trial if complete else None


def segment_of(t: FrozenTrial) -> Segment:
    params = {k: float(v) for k, v in t.params.items() if _number(v)}
    return Segment(
        trial=t.number,
        generation=generation_of(t),
        params=params,
        val_accuracy=float(t.value) if t.value is not None and _number(t.value) else None,
        test_accuracy=_attr(t, "test_accuracy"),
        epochs=_attr(t, "epochs_trained"),
    )


def _attr(t: FrozenTrial, key: str) -> float | None:
    value = t.user_attrs.get(key)
    return float(value) if isinstance(value, (int, float)) and _number(value) else None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
