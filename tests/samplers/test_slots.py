"""claim_slot: one slot per trial however claims interleave, lowest slots first."""

from __future__ import annotations

import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import optuna
import pytest
from optuna.storages import InMemoryStorage
from optuna.trial import FrozenTrial, TrialState

from optuna_glo.samplers import _slots
from optuna_glo.samplers._slots import claim_slot

GEN, SLOT = "Test:generation", "Test:slot"


class _Interleaving(InMemoryStorage):
    """An in-memory storage whose reads and slot writes pause, so that threads' claims interleave.

    With ``lockstep=N``, each of N threads waits for all N after its first slot write and after
    each of its first two reads: every trial reads before any writes, writes before any checks,
    and checks before any withdraws.
    """

    def __init__(self, *, pause: float = 0.0, lockstep: int = 0) -> None:
        super().__init__()
        self.pause = pause
        self.withdrawals = 0
        self._rng = random.Random(0)
        self._barrier = threading.Barrier(lockstep) if lockstep else None
        self._steps: Counter[tuple[int, str]] = Counter()

    def _step(self, what: str, lockstep: int) -> None:
        if threading.current_thread() is threading.main_thread():
            return  # the test itself reading the result
        self._steps[threading.get_ident(), what] += 1
        if self._barrier is not None and self._steps[threading.get_ident(), what] <= lockstep:
            self._barrier.wait(timeout=10)
        if self.pause:
            threading.Event().wait(self._rng.uniform(0.0, self.pause))

    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:
        super().set_trial_system_attr(trial_id, key, value)
        if key == SLOT:
            self.withdrawals += value is None
            self._step("write", lockstep=1)

    def get_all_trials(self, *args: Any, **kwargs: Any) -> list[FrozenTrial]:
        trials = super().get_all_trials(*args, **kwargs)
        self._step("read", lockstep=2)
        return trials


def _study(storage: InMemoryStorage | None = None) -> optuna.Study:
    return optuna.create_study(storage=storage or InMemoryStorage())


def _trial(
    study: optuna.Study, *, slot: object = None, state: TrialState = TrialState.RUNNING
) -> FrozenTrial:
    """A trial of generation 0, holding ``slot`` when it is given."""
    storage = study._storage
    trial_id = storage.create_new_trial(study._study_id)
    storage.set_trial_system_attr(trial_id, GEN, 0)
    if slot is not None:
        storage.set_trial_system_attr(trial_id, SLOT, slot)  # type: ignore[arg-type]
    if state != TrialState.RUNNING:
        storage.set_trial_state_values(trial_id, state, [0.0] if state.is_finished() else None)
    return storage.get_trial(trial_id)


def _claim(study: optuna.Study, trial: FrozenTrial) -> int:
    return claim_slot(study, trial, generation_key=GEN, generation=0, slot_key=SLOT)


def _claim_together(study: optuna.Study, trials: list[FrozenTrial]) -> dict[int, int]:
    """Each trial claims in its own thread, all at once; trial number -> slot."""
    with ThreadPoolExecutor(len(trials)) as pool:
        futures = {t.number: pool.submit(_claim, study, t) for t in trials}
    return {number: future.result() for number, future in futures.items()}


def test_colliding_claims_both_withdraw_and_split(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_slots, "PENDING_SECONDS", 0.0)  # no spreading: both aim at slot 0
    storage = _Interleaving(lockstep=2)
    study = _study(storage)
    a, b = _trial(study), _trial(study)
    slots = _claim_together(study, [a, b])
    assert sorted(slots.values()) == [0, 1]
    assert storage.withdrawals >= 2  # both saw the collision and withdrew
    stored = [t.system_attrs[SLOT] for t in study.get_trials()]
    assert sorted(stored) == [0, 1]


@pytest.mark.parametrize("spread", [True, False])
def test_many_interleaved_claims_take_each_slot_once_from_the_lowest(
    spread: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not spread:
        monkeypatch.setattr(_slots, "PENDING_SECONDS", 0.0)
    study = _study(_Interleaving(pause=0.002))
    trials = [_trial(study) for _ in range(12)]
    slots = _claim_together(study, trials)
    assert sorted(slots.values()) == list(range(12))
    assert {t.number: t.system_attrs[SLOT] for t in study.get_trials()} == slots


def test_trials_that_ask_together_aim_at_different_slots() -> None:
    storage = _Interleaving(lockstep=3)
    study = _study(storage)
    slots = _claim_together(study, [_trial(study) for _ in range(3)])
    # Each saw the lower-numbered trials pending and aimed past them: no collision at all.
    assert slots == {0: 0, 1: 1, 2: 2}
    assert storage.withdrawals == 0


def test_a_pending_trial_counts_only_while_it_is_recent(monkeypatch: pytest.MonkeyPatch) -> None:
    study = _study()
    _trial(study, slot=0)
    _trial(study)  # pending: about to claim the lowest free slot, 1
    assert _claim(study, _trial(study)) == 2
    monkeypatch.setattr(_slots, "PENDING_SECONDS", 0.0)  # now it has stalled: no one waits
    assert _claim(study, _trial(study)) == 1


def test_failed_slots_are_handed_out_again_until_they_failed_twice() -> None:
    study = _study()
    _trial(study, slot=0, state=TrialState.COMPLETE)
    _trial(study, slot=1, state=TrialState.FAIL)
    _trial(study, slot=2, state=TrialState.PRUNED)
    assert _claim(study, _trial(study)) == 1
    _trial(study, slot=3, state=TrialState.FAIL)
    _trial(study, slot=3, state=TrialState.FAIL)
    assert _claim(study, _trial(study)) == 4


def test_other_generations_and_foreign_values_are_ignored() -> None:
    study = _study()
    for junk in ("0", True, -1, 2.5, [0], {"slot": 0}):
        _trial(study, slot=junk)
    other = study._storage.create_new_trial(study._study_id)
    study._storage.set_trial_system_attr(other, GEN, 1)
    study._storage.set_trial_system_attr(other, SLOT, 0)
    assert _claim(study, _trial(study)) == 0
    assert _claim(study, _trial(study)) == 1  # True == 1 in Python, yet no rival
