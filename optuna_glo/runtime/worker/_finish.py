"""Finishing claimed trials: tell their values, fail them, or give them back to the study.

A result finished while the database was away is told once it is back. If the trial was failed
as stale meanwhile, the result goes to its queued retry. A trial given back is failed and its
candidate queued again (same parameters) for another worker.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import optuna
from optuna.trial import TrialState

from optuna_glo.keys import GIVEN_BACK_ATTR
from optuna_glo.runtime.budget_lock import budget_lock
from optuna_glo.runtime.storage import StorageError
from optuna_glo.runtime.worker._log import log
from optuna_glo.runtime.worker._reconnect import Reconnect

#: What a trained trial is told: its value, or the ``optuna.TrialPruned`` its pruner raised.
Outcome = float | optuna.TrialPruned

#: Seconds a stopped worker keeps trying to give its trials back while the database is away.
#: After that their heartbeats stop, and other workers re-run them after the grace period.
GIVE_BACK_TIMEOUT = 5.0


class Finisher:
    """Tells, fails and gives back one study's trials.

    Args:
        study: The study.
        storage: Its storage (for the budget lock).
        reconnect: Retries storage calls while the database is away.
        stop: Says when to stop retrying (a signal that gives the trials back).
    """

    def __init__(
        self,
        study: optuna.Study,
        storage: optuna.storages.BaseStorage,
        reconnect: Reconnect,
        stop: Callable[[], bool],
    ) -> None:
        self._study = study
        self._storage = storage
        self._reconnect = reconnect
        self._stop = stop

    def tell(self, trial: optuna.trial.Trial, value: Outcome) -> optuna.trial.FrozenTrial | None:
        """Tell the result, once the database is reachable; ``None`` if it went to no trial.

        A pruned trial is told ``PRUNED`` (Optuna values it at its last reported accuracy).
        """
        frozen = self._reconnect.call(
            f"telling trial {trial.number}",
            lambda: _tell(self._study, trial, value),
            stop=self._stop,
        )
        if frozen.state != TrialState.FAIL:
            return frozen
        # Failed as stale while the database (or this node) was away: give the value to the
        # queued retry of this candidate, if no worker has taken it yet.
        return self._reconnect.call(
            f"telling trial {trial.number}'s retry",
            lambda: self._tell_retry(trial, value),
            stop=self._stop,
        )

    def _tell_retry(
        self, trial: optuna.trial.Trial, value: Outcome
    ) -> optuna.trial.FrozenTrial | None:
        study = self._study
        with budget_lock(self._storage, study._study_id):
            for waiting in study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
                history = waiting.system_attrs.get("retry_history") or [None]
                if history[-1] != trial.number:
                    continue
                if not study._storage.set_trial_state_values(
                    waiting._trial_id, TrialState.RUNNING
                ):
                    continue
                for key, attr in trial.user_attrs.items():
                    study._storage.set_trial_user_attr(waiting._trial_id, key, attr)
                reported = study._storage.get_trial(trial._trial_id).intermediate_values
                for step, accuracy in reported.items():
                    study._storage.set_trial_intermediate_value(waiting._trial_id, step, accuracy)
                log(f"trial {trial.number} was failed as stale while its result was on the way; "
                    f"its result goes to its retry, trial {waiting.number}")
                return _tell(study, waiting.number, value)
        log(f"trial {trial.number} was failed as stale while it ran; its retry is re-running it")
        return None

    def fail(self, trials: Sequence[optuna.trial.Trial]) -> None:
        """Record trials whose objective raised: failed trials are re-run (as new candidates)."""
        for trial in trials:
            self._reconnect.call(
                f"failing trial {trial.number}",
                functools.partial(
                    self._study.tell, trial, state=TrialState.FAIL, skip_if_finished=True
                ),
                stop=self._stop,
            )

    def give_back(self, trials: Sequence[optuna.trial.Trial], *, urgent: bool) -> int:
        """Give the trials back to the study; how many were given back.

        ``urgent`` (a signal asked): try for :data:`GIVE_BACK_TIMEOUT` seconds at most. Else
        retry as long as the reconnect timeout allows, unless a signal stops the worker. Trials
        that cannot be given back keep no heartbeat: other workers re-run them after the grace
        period.
        """
        given = 0
        for k, trial in enumerate(trials):
            try:
                if not self._reconnect.call(
                    f"giving back trial {trial.number}",
                    functools.partial(self._give_back, trial),
                    timeout=GIVE_BACK_TIMEOUT if urgent else None,
                    stop=None if urgent else self._stop,
                ):
                    continue  # told, or failed as stale and queued again already
            except StorageError as err:
                left = ", ".join(str(t.number) for t in trials[k:])
                log(f"{err} Heartbeats of trial(s) {left} stop now: another worker re-runs them "
                    "after the grace period.")
                break
            given += 1
            log(f"gave trial {trial.number} back to the study: another worker re-runs it")
        return given

    def _give_back(self, trial: optuna.trial.Trial) -> bool:
        """Fail the trial and queue its candidate again (same parameters) for another worker."""
        with budget_lock(self._storage, self._study._study_id):
            frozen = self._study._storage.get_trial(trial._trial_id)
            if frozen.state != TrialState.RUNNING:
                return False
            self._study.add_trial(
                optuna.trial.create_trial(
                    state=TrialState.WAITING,
                    params=frozen.params,
                    distributions=frozen.distributions,
                    user_attrs=frozen.user_attrs,
                    system_attrs={**frozen.system_attrs, GIVEN_BACK_ATTR: frozen.number},
                )
            )
            self._study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
            return True


def _tell(study: optuna.Study, trial: optuna.trial.Trial | int, value: Outcome) -> (
    optuna.trial.FrozenTrial
):
    """``study.tell`` of a value, or of ``PRUNED`` for a pruned trial."""
    if isinstance(value, optuna.TrialPruned):
        return study.tell(trial, state=TrialState.PRUNED, skip_if_finished=True)
    return study.tell(trial, value, skip_if_finished=True)
