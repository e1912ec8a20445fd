"""Which slot of which generation a trial is: claimed through trial numbers, atomic in any storage.

A population-based run is a fixed sequence of slots: generation 0 has ``first`` of them, every
later generation ``later`` (EPBT: p, then p - k children; PBT: p every generation). A trial's
*ordinal* is its place in that sequence.

Every Optuna storage gives each new trial of a study the next trial number, atomically (the RDB
storage locks the study row while it counts; the in-memory and journal storages serialise
creation), and a trial created from a template (a retry, a given-back trial) carries its system
attributes from the moment it exists. So the ordinal of a new trial is the number of *claimants*
among the trials numbered below it, where a claimant is a trial that does not carry someone
else's ticket. That count depends only on trials that already exist and on attributes fixed
when they were created, so it is the same whenever and wherever it is computed: two trials never
claim one ordinal, and no ordinal is skipped (the GP sampler's slot scan of issue 14, item 10,
handed one slot to several processes because it read attributes that other processes were still
writing). A trial records its claim as ``[ordinal, its own number]``; a copy made to re-run it
keeps that ticket, so the copy re-runs the same slot and is not a claimant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from optuna.trial import FrozenTrial, TrialState

from optuna_glo.keys import TICKET_KEY


def read_ticket(system_attrs: Mapping[str, Any]) -> tuple[int, int] | None:
    """``(ordinal, claimant)`` of a trial, or None when it has no ticket.

    Raises:
        ValueError: The stored ticket is not two ints >= 0 (a tampered or foreign attribute:
            counting it either way could hand its ordinal out twice).
    """
    if TICKET_KEY not in system_attrs:
        return None
    ticket = system_attrs[TICKET_KEY]
    if (
        not isinstance(ticket, (list, tuple))
        or len(ticket) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in ticket)
    ):
        raise ValueError(
            f"A trial's `{TICKET_KEY}` must be [ordinal, trial number], two ints >= 0. The "
            f"stored value is {ticket!r}."
        )
    return ticket[0], ticket[1]


def is_claimant(trial: FrozenTrial) -> bool:
    """Whether ``trial`` claims an ordinal of its own (no ticket yet, or the ticket it wrote)."""
    ticket = read_ticket(trial.system_attrs)
    return ticket is None or ticket[1] == trial.number


def claim(trials: Iterable[FrozenTrial], number: int) -> int:
    """The ordinal of the claimant numbered ``number``: the claimants numbered below it."""
    return sum(1 for t in trials if t.number < number and is_claimant(t))


def ordinals(trials: Iterable[FrozenTrial]) -> dict[int, int]:
    """``{trial number: ordinal}`` of every trial, claimed or copied, written or not yet."""
    out: dict[int, int] = {}
    count = 0
    for t in sorted(trials, key=lambda t: t.number):
        ticket = read_ticket(t.system_attrs)
        if ticket is None or ticket[1] == t.number:
            out[t.number] = count
            count += 1
        else:
            out[t.number] = ticket[0]
    return out


@dataclass(frozen=True)
class Layout:
    """Slots per generation: ``first`` in generation 0, ``later`` in each one after.

    Attributes:
        first: Slots of generation 0.
        later: Slots of every later generation.
    """

    first: int
    later: int

    def locate(self, ordinal: int) -> tuple[int, int]:
        """``(generation, slot)`` of an ordinal."""
        if ordinal < self.first:
            return 0, ordinal
        generation, slot = divmod(ordinal - self.first, self.later)
        return generation + 1, slot

    def start(self, generation: int) -> int:
        """The ordinal of slot 0 of ``generation``."""
        return 0 if generation == 0 else self.first + (generation - 1) * self.later

    def size(self, generation: int) -> int:
        """Slots of ``generation``."""
        return self.first if generation == 0 else self.later

    def n_trials(self, generations: int) -> int:
        """Slots of ``generations`` whole generations: the study's trial budget for them."""
        return 0 if generations <= 0 else self.start(generations)


def lowest_open(trials: Sequence[FrozenTrial], layout: Layout) -> int:
    """The first generation with an unclaimed or running slot; every one before it is closed.

    A waiting copy (a re-run not yet started) does not hold its generation open.
    """
    where = ordinals(trials)
    claimed = sum(1 for t in trials if is_claimant(t))
    running = {layout.locate(where[t.number])[0] for t in trials if t.state == TrialState.RUNNING}
    generation = 0
    while layout.start(generation + 1) <= claimed and generation not in running:
        generation += 1
    return generation
