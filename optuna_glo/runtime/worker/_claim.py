"""Claiming trials under the study's budget lock: the budget is exact across all workers.

Counting the budget and asking for a trial happen under the budget lock
(:func:`optuna_glo.runtime.budget_lock.budget_lock`: a PostgreSQL advisory lock, a file lock, a
Redis lock), so two workers never both take the last slot. A worker that finds the budget taken
but trials still running waits: if one of them dies, its trial is re-run by a waiting worker.

Where no lock reaches the storage (the gRPC proxy), the order in which the storage creates
trials decides, as the EPBT sampler's slots do: a trial is within the budget if fewer than
``budget`` trials of lower number use it up (:data:`BUDGET_STATES`); a trial claimed beyond that
is failed at once (failed trials use up no budget) and the worker claims no more.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import optuna
from optuna.trial import TrialState

from optuna_glo.runtime.budget_lock import budget_lock
from optuna_glo.runtime.storage import is_connection_error
from optuna_glo.runtime.worker._beats import Beats
from optuna_glo.runtime.worker._reconnect import Reconnect

#: Trials that use up the study's budget. Failed trials do not: they are re-run.
BUDGET_STATES = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)


@dataclass
class Wait:
    """Nothing to claim yet: the budget is taken but trials are still running (one of them may
    need a re-run), or the sampler's generation is full until its running trials finish."""

    running: int
    #: Waiting for a generation (a short pause), not for the budget's last trials.
    generation: bool = False


class Claimer:
    """Claims trials of one study for this worker, one by one or as a batch.

    Args:
        study: The study, with its sampler.
        storage: Its storage (for the budget lock).
        beats: Where heartbeats are recorded (``None``: heartbeats are off).
        budget: The study's trial budget.
        batch: Trials to claim together (batch mode; 1: one by one).
        population_size: The sampler's generation size: a batch never crosses a generation.
        reconnect: Retries claims while the database is away.
        heartbeat_interval: Seconds between heartbeats (``None``: no heartbeats, no stale
            trials, no waiting for running ones).
        stop: Says when to stop claiming (a signal); a claim then is not retried either.
    """

    def __init__(
        self,
        study: optuna.Study,
        storage: optuna.storages.BaseStorage,
        beats: Beats | None,
        *,
        budget: int,
        batch: int,
        population_size: int | None,
        reconnect: Reconnect,
        heartbeat_interval: int | None,
        stop: Callable[[], bool],
    ) -> None:
        self._study = study
        self._storage = storage
        self._beats = beats
        self._budget = budget
        self._batch = batch
        self._population_size = population_size
        self._reconnect = reconnect
        self._heartbeat_interval = heartbeat_interval
        self._stop = stop
        #: Trials using up the budget at the last claim (this worker's view, for progress).
        self.used = 0
        self._next_stale_check = 0.0

    def claim_batch(self, *, left: int | None) -> list[optuna.trial.Trial] | Wait | None:
        """A batch of trials (see :func:`batch_limit`; at most ``left``), :class:`Wait`, or
        ``None`` when the budget is complete.

        The whole batch is claimed under one hold of the budget lock and one budget count, so
        a generation goes to one worker in one piece. A stop ends the batch early with the
        trials claimed so far; so does a trial beyond the budget (see the module doc).
        """
        claimed: list[optuna.trial.Trial] = []
        outcome = self._reconnect.call(
            "claiming trials", lambda: self._claim_once(claimed, left), stop=self._stop
        )
        if not claimed:
            return outcome
        # The first heartbeats, at once (outside the lock: the other workers need not wait).
        if self._beats is not None and self._heartbeat_interval is not None:
            for trial in claimed:
                try:
                    self._beats.record(trial._trial_id)
                except Exception as err:  # the heartbeat thread records it once the DB is back
                    if not is_connection_error(err):
                        raise
        return claimed

    def _claim_once(
        self, claimed: list[optuna.trial.Trial], left: int | None
    ) -> Wait | None:
        """Claim into ``claimed`` (kept across reconnects: a retry goes on where a lost
        connection stopped it); :class:`Wait` or ``None`` when nothing could be claimed."""
        study = self._study
        with budget_lock(self._storage, study._study_id) as exclusive:
            self._fail_stale_trials()
            trials = study.get_trials(deepcopy=False, states=BUDGET_STATES)
            self.used = len(trials)
            running = sum(t.state == TrialState.RUNNING for t in trials)
            waiting = sum(t.state == TrialState.WAITING for t in trials)
            slots = waiting + max(0, self._budget - self.used)
            if slots == 0 and not claimed:
                if running == 0 or self._heartbeat_interval is None:
                    return None
                return Wait(running)
            if not claimed and not waiting and self._generation_full(study, trials):
                return Wait(running, generation=True)
            first_used = self.used + (0 if waiting else 1) - len(claimed)
            limit = batch_limit(self._batch, self._population_size, first_used, left)
            for _ in range(min(slots, limit - len(claimed))):
                if claimed and self._stop():
                    break
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed")
                    trial = study.ask()
                if waiting:
                    waiting -= 1
                else:
                    self.used += 1
                if not exclusive:
                    ranked = self._within_budget(trial)
                    if not isinstance(ranked, optuna.trial.Trial):
                        return ranked
                claimed.append(trial)
        return None

    def _generation_full(
        self, study: optuna.Study, trials: list[optuna.trial.FrozenTrial]
    ) -> bool:
        """Whether the sampler says a trial asked now would be an extra of a generation that is
        not told yet (``FixedSpaceCmaEsSampler.generation_full``): trained for nothing, so the
        worker waits instead. Without heartbeats a worker never waits (a dead worker's trial
        would hold the generation for ever), and takes the extra as before."""
        full = getattr(study.sampler, "generation_full", None)
        return self._heartbeat_interval is not None and callable(full) and bool(full(study, trials))

    def _within_budget(self, trial: optuna.trial.Trial) -> optuna.trial.Trial | Wait | None:
        """``trial`` if fewer than ``budget`` trials of lower number use up the budget; else it
        is failed, and the claim ends as if the budget had been full (:class:`Wait` or
        ``None``)."""
        used = self._study.get_trials(deepcopy=False, states=BUDGET_STATES)
        lower = [t for t in used if t.number < trial.number]
        if len(lower) < self._budget:
            return trial
        self._study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
        self.used = len(used) - 1
        running = sum(t.state == TrialState.RUNNING for t in used) - 1
        return None if running <= 0 or self._heartbeat_interval is None else Wait(running)

    def _fail_stale_trials(self) -> None:
        """Fail stale trials (their retries are queued), once per heartbeat interval.

        Not at every claim: the claim holds the study's lock, and other workers wait for it.
        """
        if (
            self._beats is None
            or self._heartbeat_interval is None
            or time.monotonic() < self._next_stale_check
        ):
            return
        self._beats.fail_stale(self._study)
        self._next_stale_check = time.monotonic() + self._heartbeat_interval


def batch_limit(batch: int, population_size: int | None, used: int, left: int | None) -> int:
    """Trials to claim together: the batch size, within this generation and this worker's limit.

    ``used`` counts the budget trials including the one just claimed; a batch that ends at a
    generation boundary keeps CMA-ES's generations whole (a generation's extra trials are wasted).
    """
    limit = batch
    if population_size:
        limit = min(limit, population_size - (used - 1) % population_size)
    if left is not None:
        limit = min(limit, left)
    return max(1, limit)
