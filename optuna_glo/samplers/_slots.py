"""Claiming a slot of a generation, atomically in any Optuna storage.

Population samplers built on :class:`optuna.samplers.BaseGASampler` give each trial of a
generation one *slot* (GLO's elites and child pairs, a PBT member). Several processes that call
``study.optimize`` on one study ask at the same time, and "take the lowest slot nobody holds"
must still hand each slot to one trial only and fill the slots from the lowest up.

Optuna's storages offer no compare-and-set on attributes, but every one of them (RDB, journal
file, Redis journal, gRPC proxy, in-memory) makes a finished write visible to every later read.
That is enough for collision detection, as on an Ethernet cable: a trial writes its claim into
its own system attribute, then reads every trial of the generation again. Of two trials that
claim one slot, the one that checks second sees the other's claim (the other wrote it before
its own check, which came before this one). So a trial keeps its slot only when the
second read shows no rival; on a collision both may withdraw, never both keep. A withdrawn trial
writes ``None`` and retries after a short random wait.

Trials that ask together spread out at once: a trial of the generation that has not claimed yet
(and started less than :data:`PENDING_SECONDS` ago) and has a lower trial number is expected to
take a free slot before this one, so this one aims at a later free slot. That only lowers the
number of collisions (after one, the lower-numbered rival aims at the slot again, the other at
the next free one); correctness rests on the second read alone.
"""

from __future__ import annotations

import datetime
import random
import time
from typing import TYPE_CHECKING

from optuna.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from optuna.study import Study

#: A trial still without a slot counts as about to claim one for this many seconds after its
#: start (a claim takes milliseconds; a trial pending longer has died or stalled).
PENDING_SECONDS = 30.0

#: Collisions in a row after which :func:`claim_slot` gives up.
MAX_ATTEMPTS = 200

_BACKOFF_SECONDS = 0.01
_MAX_BACKOFF_SECONDS = 1.0


def claim_slot(
    study: Study,
    trial: FrozenTrial,
    *,
    generation_key: str,
    generation: int,
    slot_key: str,
    max_failures: int = 2,
) -> int:
    """Claim the lowest free slot of ``generation`` for ``trial``; no other trial keeps it.

    A slot is *held* by every trial of the generation (system attr ``generation_key`` equal to
    ``generation``) whose ``slot_key`` attr names it and that has not failed. A slot whose trials
    failed ``max_failures`` times is given up (held too); one that failed fewer times is free
    again. On return the slot is written into the trial's system attr ``slot_key``.

    Args:
        study: The study of the trial.
        trial: The trial that asks, already in ``generation``.
        generation_key: System attr key of a trial's generation (BaseGASampler's
            ``_get_generation_key()``).
        generation: The trial's generation.
        slot_key: System attr key of a trial's slot.
        max_failures: Failed trials after which a slot is not handed out again.

    Returns:
        The slot, an int >= 0.

    Raises:
        RuntimeError: :data:`MAX_ATTEMPTS` claims in a row collided.
    """
    storage, trial_id = study._storage, trial._trial_id
    rng = random.Random()  # only spaces out retries: nothing the study records depends on it
    for attempt in range(MAX_ATTEMPTS):
        trials = _generation(study, generation_key, generation, trial.number)
        slot = _aim(trials, slot_key, max_failures, trial.number)
        storage.set_trial_system_attr(trial_id, slot_key, slot)
        rivals = _generation(study, generation_key, generation, trial.number)
        if not any(t.state != TrialState.FAIL and _slot(t, slot_key) == slot for t in rivals):
            return slot
        storage.set_trial_system_attr(trial_id, slot_key, None)
        ceiling = min(_MAX_BACKOFF_SECONDS, _BACKOFF_SECONDS * 2**attempt)
        time.sleep(rng.uniform(0.0, ceiling))
    raise RuntimeError(
        f"Trial {trial.number} could not claim a slot of generation {generation}: "
        f"{MAX_ATTEMPTS} claims in a row collided with other trials'. Retry the trial."
    )


def _generation(
    study: Study, generation_key: str, generation: int, number: int
) -> list[FrozenTrial]:
    """The other trials of ``generation``, read from the storage now."""
    return [
        t
        for t in study._storage.get_all_trials(study._study_id, deepcopy=False)
        if t.number != number and t.system_attrs.get(generation_key) == generation
    ]


def _slot(trial: FrozenTrial, slot_key: str) -> int | None:
    """The trial's claim; ``None`` for none, and for a value this module never writes (the
    storage is shared: its data are untrusted)."""
    slot = trial.system_attrs.get(slot_key)
    if isinstance(slot, bool) or not isinstance(slot, int) or slot < 0:
        return None
    return slot


def _aim(trials: list[FrozenTrial], slot_key: str, max_failures: int, number: int) -> int:
    """The free slot to claim: past one free slot per lower-numbered trial still pending."""
    held: set[int] = set()
    failures: dict[int, int] = {}
    pending = 0
    recent = datetime.datetime.now() - datetime.timedelta(seconds=PENDING_SECONDS)
    for t in trials:
        slot = _slot(t, slot_key)
        if t.system_attrs.get(slot_key) is None:  # no claim yet, or withdrawn
            started = t.datetime_start
            if t.state == TrialState.RUNNING and t.number < number and started and started > recent:
                pending += 1
        elif slot is None:
            continue
        elif t.state == TrialState.FAIL:
            failures[slot] = failures.get(slot, 0) + 1
            if failures[slot] >= max_failures:
                held.add(slot)
        else:
            held.add(slot)
    slot = 0
    while True:
        if slot not in held:
            if pending == 0:
                return slot
            pending -= 1
        slot += 1
