"""The worker: asks the study's sampler for candidates, trains them, tells the results.

Any number of workers, in any number of processes and machines, can work on one study at once:
the sampler's state (CMA-ES's optimizer, GP generations) lives in the storage. What keeps many
workers safe:

- **Exact budget.** Counting the budget and asking for a trial happen under the study's budget
  lock (:func:`optuna_glo.runtime.storage.budget_lock`: a PostgreSQL advisory lock), so two
  workers never both take the last slot. A worker that finds the budget taken but trials still
  running waits: if one of them dies, its trial is re-run by a waiting worker.
- **Heartbeats.** Optuna records heartbeats only inside ``study.optimize``; this ask/tell worker
  records them itself, from a background thread, for the trial it runs
  (``storage.record_heartbeat``). Trials whose heartbeat is older than the grace period are
  failed (``optuna.storages.fail_stale_trials``) and re-run with the same parameters by
  ``RetryHeartbeatStaleTrialCallback``, at most ``max_retry`` times per candidate.
- **Signals.** SIGTERM (and a second Ctrl-C) gives the running trial back at once: it is failed
  and queued again with the same parameters, for another worker. A first Ctrl-C lets the running
  trial finish. Either way the worker exits normally and leaves no trial RUNNING.
- **Dropped connections.** Storage calls are retried with exponential backoff (pooled
  connections are pre-pinged); a result finished while the database was away is told once it is
  back. If the trial was failed as stale meanwhile, the result goes to its queued retry.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any, TypeVar

import optuna
from optuna.trial import TrialState
from tqdm.auto import tqdm

from optuna_glo.keys import GIVEN_BACK_ATTR
from optuna_glo.objectives import LossSearchObjective, train_trials
from optuna_glo.runtime.methods import make_objective
from optuna_glo.runtime.population import PopulationObjective
from optuna_glo.runtime.storage import StorageError, budget_lock, is_connection_error, redact, scrub
from optuna_glo.runtime.study import load_study

#: Called after each trial this worker tells, like ``study.optimize``'s callbacks.
TrialCallback = Callable[[optuna.Study, optuna.trial.FrozenTrial], None]
#: Called with the running trial after its objective returned, just before it is told: the place
#: for artifacts, which Optuna accepts only on a running trial.
BeforeTellHook = Callable[[optuna.Study, optuna.trial.Trial], object]

#: Trials that use up the study's budget. Failed trials do not: they are re-run.
BUDGET_STATES = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)

#: Default seconds between heartbeats of a running trial.
DEFAULT_HEARTBEAT_INTERVAL = 30
#: Default retries of a candidate whose worker died (``RetryHeartbeatStaleTrialCallback``).
DEFAULT_MAX_RETRY = 3
#: Default seconds a worker keeps retrying an unreachable database before it gives up.
DEFAULT_RECONNECT_TIMEOUT = 600.0

#: System attribute of a trial queued again by a worker that was stopped: the given-back trial.

_T = TypeVar("_T")


@dataclass
class WorkerSummary:
    """What one worker did."""

    n_trials: int
    seconds: float
    best_value: float | None
    #: Trials this worker gave back to the study when it was stopped or lost its database.
    n_given_back: int = 0
    #: Whether a signal (SIGTERM, SIGINT) stopped the worker before the budget was reached.
    stopped: bool = False


def count_budget_used(study: optuna.Study) -> int:
    """Trials that count against the budget: finished, pruned, running and queued ones."""
    return len(study.get_trials(deepcopy=False, states=BUDGET_STATES))


def default_grace_period(heartbeat_interval: int) -> int:
    """Four heartbeats: a worker survives a short database hiccup without losing its trial."""
    return 4 * heartbeat_interval


def _best_value(study: optuna.Study) -> float | None:
    try:
        return study.best_value
    except ValueError:  # no completed trial yet
        return None


def _log(message: str) -> None:
    tqdm.write(f"optuna-glo worker [{os.getpid()}]: {message}", file=sys.stderr)


# --------------------------------------------------------------------------------------------
# Retrying storage calls while the database is away.
# --------------------------------------------------------------------------------------------


class _Reconnect:
    """Retries storage calls that fail for a lost connection, with exponential backoff."""

    def __init__(self, url: str, timeout: float) -> None:
        self._url = url
        self.timeout = timeout

    def call(self, what: str, fn: Callable[[], _T], *, timeout: float | None = None) -> _T:
        """``fn()``, retried while the database cannot be reached, for up to ``timeout`` s."""
        limit = self.timeout if timeout is None else timeout
        start = time.monotonic()
        delay = 0.5
        while True:
            try:
                return fn()
            except Exception as err:
                if not is_connection_error(err):
                    raise
                waited = time.monotonic() - start
                reason = self._reason(err)
                if waited + delay > limit:
                    raise StorageError(
                        f"Lost the database {redact(self._url)} for {waited:.0f} s while "
                        f"{what} ({reason}); giving up after the reconnect timeout of "
                        f"{limit:.0f} s."
                    ) from None
                _log(f"database unreachable while {what} ({reason}); retrying in {delay:.1f} s")
                time.sleep(delay)
                delay = min(2 * delay, 15.0)

    def _reason(self, err: BaseException) -> str:
        root: BaseException = err
        while root.__cause__ is not None:
            root = root.__cause__
        orig = getattr(root, "orig", None) or root
        lines = str(orig).strip().splitlines()
        return scrub(lines[0] if lines else type(orig).__name__, self._url)


# --------------------------------------------------------------------------------------------
# Heartbeats, recorded from a background thread.
# --------------------------------------------------------------------------------------------


class _Heartbeat:
    """Records the heartbeat of this worker's running trial every ``interval`` seconds."""

    def __init__(self, storage: optuna.storages.RDBStorage, interval: int) -> None:
        self._storage = storage
        self._interval = interval
        self._trial_ids: tuple[int, ...] = ()
        self._stop = threading.Event()
        self._failing = False
        self._thread = threading.Thread(target=self._run, name="optuna-glo-heartbeat", daemon=True)
        self._thread.start()

    def beat_for(self, trial_ids: Sequence[int]) -> None:
        """Record heartbeats for the trials ``trial_ids`` from now on (empty: no trial)."""
        self._trial_ids = tuple(trial_ids)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            for trial_id in self._trial_ids:
                self._beat(trial_id)

    def _beat(self, trial_id: int) -> None:
        try:
            self._storage.record_heartbeat(trial_id)
        except Exception as err:  # the main thread reports and handles lost databases
            if not self._failing:
                _log(f"heartbeat of trial id {trial_id} not recorded ({type(err).__name__})")
            self._failing = True
        else:
            if self._failing:
                _log(f"heartbeats of trial id {trial_id} recorded again")
            self._failing = False
        with contextlib.suppress(Exception):
            self._storage.remove_session()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


class _OrphanWatch:
    """Gives a first heartbeat to RUNNING trials that never got one, so they can go stale.

    Optuna never fails a RUNNING trial without a heartbeat record. A worker killed between
    creating a trial and recording its first heartbeat (milliseconds), or whose connection
    dropped just after the trial was created, leaves such a trial. Every worker records a
    heartbeat as soon as it claims a trial, so one seen without heartbeats for a whole grace
    period is an orphan: recording one heartbeat for it lets ``fail_stale_trials`` retry it.
    """

    def __init__(self, storage: optuna.storages.RDBStorage, study_id: int, grace: int) -> None:
        self._storage = storage
        self._study_id = study_id
        self._grace = grace
        self._first_seen: dict[int, float] = {}

    def check(self) -> None:
        from optuna.storages._rdb import models
        from sqlalchemy import select

        trials = models.TrialModel.__table__
        beats = models.TrialHeartbeatModel.__table__
        query = (
            select(trials.c.trial_id)
            .select_from(trials.outerjoin(beats, trials.c.trial_id == beats.c.trial_id))
            .where(trials.c.study_id == self._study_id)
            .where(trials.c.state == TrialState.RUNNING)
            .where(beats.c.trial_id.is_(None))
        )
        with self._storage.engine.connect() as conn:
            orphans = {row[0] for row in conn.execute(query)}
        now = time.monotonic()
        self._first_seen = {t: self._first_seen.get(t, now) for t in orphans}
        for trial_id, seen in self._first_seen.items():
            if now - seen > self._grace:
                _log(f"trial id {trial_id} has been RUNNING without heartbeats for over "
                     f"{self._grace} s: recording one so that it goes stale and is re-run")
                self._storage.record_heartbeat(trial_id)


# --------------------------------------------------------------------------------------------
# Signals: SIGINT finishes the running trial; SIGTERM or a second SIGINT gives it back.
# --------------------------------------------------------------------------------------------


class _GiveBack(BaseException):
    """Raised in the main thread to stop the running trial and give it back."""


class _Signals:
    """SIGINT/SIGTERM handlers for the worker's lifetime (main thread only)."""

    def __init__(self) -> None:
        self.stop_requested = False
        self.give_back = False
        self.wake = threading.Event()
        self._in_trial = False
        self._previous: dict[int, Any] = {}

    @contextlib.contextmanager
    def installed(self, enabled: bool) -> Iterator[None]:
        if not enabled or threading.current_thread() is not threading.main_thread():
            yield
            return
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._handle)
        try:
            yield
        finally:
            for previous_signum, handler in self._previous.items():
                signal.signal(previous_signum, handler)

    @contextlib.contextmanager
    def trial_running(self) -> Iterator[None]:
        """While the objective runs, a give-back signal interrupts it with :class:`_GiveBack`."""
        if self.give_back:
            raise _GiveBack
        self._in_trial = True
        try:
            yield
        finally:
            self._in_trial = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if signum == signal.SIGINT and not self.stop_requested:
            self.stop_requested = True
            _log(f"{name}: finishing the running trial, then stopping (Ctrl-C again to give it "
                 "back to the study now)")
        else:
            self.stop_requested = self.give_back = True
            _log(f"{name}: giving the running trial back to the study and stopping")
        self.wake.set()
        if self.give_back and self._in_trial:
            self._in_trial = False
            raise _GiveBack


# --------------------------------------------------------------------------------------------
# The worker.
# --------------------------------------------------------------------------------------------


@dataclass
class _Wait:
    """The budget is taken but trials are still running: wait, one of them may need a re-run."""

    running: int


class _Worker:
    def __init__(
        self,
        study: optuna.Study,
        storage: optuna.storages.RDBStorage,
        budget: int,
        reconnect: _Reconnect,
        heartbeat_interval: int | None,
        grace_period: int | None,
    ) -> None:
        self.study = study
        self.storage = storage
        self.budget = budget
        self.reconnect = reconnect
        self.heartbeat_interval = heartbeat_interval
        self.orphans = (
            _OrphanWatch(storage, study._study_id, grace_period)
            if heartbeat_interval is not None and grace_period is not None
            else None
        )
        self.used = 0
        self._next_stale_check = 0.0

    def claim(self) -> optuna.trial.Trial | _Wait | None:
        """A trial to run, :class:`_Wait`, or ``None`` when the budget is complete."""
        study = self.study
        with budget_lock(self.storage, study._study_id):
            # Stale trials are looked for once per heartbeat interval, not at every claim: the
            # claim holds the study's lock, and other workers wait for it.
            if self.heartbeat_interval is not None and time.monotonic() >= self._next_stale_check:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                    optuna.storages.fail_stale_trials(study)
                self._next_stale_check = time.monotonic() + self.heartbeat_interval
            trials = study.get_trials(deepcopy=False, states=BUDGET_STATES)
            self.used = len(trials)
            running = sum(t.state == TrialState.RUNNING for t in trials)
            waiting = sum(t.state == TrialState.WAITING for t in trials)
            if waiting == 0 and self.used >= self.budget:
                if running == 0 or self.heartbeat_interval is None:
                    return None
                return _Wait(running)
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed")
                trial = study.ask()
            if waiting == 0:
                self.used += 1
        # The first heartbeat, at once (outside the lock: the other workers need not wait).
        if self.heartbeat_interval is not None:
            try:
                self.storage.record_heartbeat(trial._trial_id)
            except Exception as err:  # the heartbeat thread records it once the DB is back
                if not is_connection_error(err):
                    raise
        return trial

    def wait_check(self) -> None:
        """While waiting: look for trials that never got a heartbeat."""
        if self.orphans is not None:
            self.orphans.check()

    def tell(self, trial: optuna.trial.Trial, value: float) -> optuna.trial.FrozenTrial | None:
        """Tell the result, once the database is reachable; ``None`` if it went to no trial."""
        frozen = self.reconnect.call(
            f"telling trial {trial.number}",
            lambda: self.study.tell(trial, value, skip_if_finished=True),
        )
        if frozen.state != TrialState.FAIL:
            return frozen
        # Failed as stale while the database (or this node) was away: give the value to the
        # queued retry of this candidate, if no worker has taken it yet.
        return self.reconnect.call(
            f"telling trial {trial.number}'s retry", lambda: self._tell_retry(trial, value)
        )

    def _tell_retry(
        self, trial: optuna.trial.Trial, value: float
    ) -> optuna.trial.FrozenTrial | None:
        with budget_lock(self.storage, self.study._study_id):
            return self._tell_retry_locked(trial, value)

    def _tell_retry_locked(
        self, trial: optuna.trial.Trial, value: float
    ) -> optuna.trial.FrozenTrial | None:
        study = self.study
        for waiting in study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
            history = waiting.system_attrs.get("retry_history") or [None]
            if history[-1] != trial.number:
                continue
            if not study._storage.set_trial_state_values(waiting._trial_id, TrialState.RUNNING):
                continue
            for key, attr in trial.user_attrs.items():
                study._storage.set_trial_user_attr(waiting._trial_id, key, attr)
            _log(f"trial {trial.number} was failed as stale while its result was on the way; "
                 f"its result goes to its retry, trial {waiting.number}")
            return study.tell(waiting.number, value)
        _log(f"trial {trial.number} was failed as stale while it ran; its retry is re-running it")
        return None

    def fail(self, trial: optuna.trial.Trial) -> None:
        """Record a trial whose objective raised: failed trials are re-run (as new candidates)."""
        self.reconnect.call(
            f"failing trial {trial.number}",
            lambda: self.study.tell(trial, state=TrialState.FAIL, skip_if_finished=True),
        )

    def give_back(self, trial: optuna.trial.Trial, *, timeout: float | None = None) -> bool:
        """Fail the trial and queue its candidate again (same parameters) for another worker."""

        def give_back() -> bool:
            with budget_lock(self.storage, self.study._study_id):
                frozen = self.study._storage.get_trial(trial._trial_id)
                if frozen.state != TrialState.RUNNING:
                    return False  # told, or failed as stale and queued again already
                self.study.add_trial(
                    optuna.trial.create_trial(
                        state=TrialState.WAITING,
                        params=frozen.params,
                        distributions=frozen.distributions,
                        user_attrs=frozen.user_attrs,
                        system_attrs={**frozen.system_attrs, GIVEN_BACK_ATTR: frozen.number},
                    )
                )
                self.study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
                return True

        try:
            given = self.reconnect.call(f"giving back trial {trial.number}", give_back,
                                        timeout=timeout)
        except StorageError as err:
            _log(f"{err} Its heartbeats stop now: another worker re-runs it after the grace "
                 "period.")
            return False
        if given:
            _log(f"gave trial {trial.number} back to the study: another worker re-runs it")
        return given


def _batch_limit(
    population_batch: int | None, population_size: int | None, used: int, left: int | None
) -> int:
    """Trials to claim together: the batch size, within this generation and this worker's limit.

    ``used`` counts the budget trials including the one just claimed; a batch that ends at a
    generation boundary keeps CMA-ES's generations whole (a generation's extra trials are wasted).
    """
    limit = population_batch or 1
    if population_size:
        limit = min(limit, population_size - (used - 1) % population_size)
    if left is not None:
        limit = min(limit, left)
    return max(1, limit)


def _evaluate(
    objective: Callable[[optuna.trial.Trial], float],
    trials: Sequence[optuna.trial.Trial],
    population_batch: int | None,
) -> list[float]:
    """The trials' values: one population (batch mode) or the objective trial by trial."""
    if len(trials) > 1 and isinstance(objective, PopulationObjective):
        return objective.train_trials(trials, population_batch=population_batch)
    if len(trials) > 1 and isinstance(objective, LossSearchObjective):
        return train_trials(objective, trials, population_batch=population_batch)
    return [objective(trial) for trial in trials]


def _numbers(trials: Sequence[optuna.trial.Trial]) -> str:
    return ", ".join(str(t.number) for t in trials)


def _application_name() -> str:
    return f"optuna-glo worker {socket.gethostname()}:{os.getpid()}"


def run_worker(
    study_name: str,
    storage_url: str,
    *,
    n_trials: int | None = None,
    device: str | None = None,
    data_dir: str | None = None,
    download: bool = False,
    progress: bool = True,
    callbacks: Sequence[TrialCallback] = (),
    before_tell: Sequence[BeforeTellHook] = (),
    heartbeat_interval: int | None = DEFAULT_HEARTBEAT_INTERVAL,
    grace_period: int | None = None,
    max_retry: int | None = DEFAULT_MAX_RETRY,
    pool_size: int | None = None,
    max_overflow: int | None = None,
    reconnect_timeout: float = DEFAULT_RECONNECT_TIMEOUT,
    handle_signals: bool = True,
    objective: Callable[[optuna.trial.Trial], float] | None = None,
    population_batch: int | None = None,
) -> WorkerSummary:
    """Work on a study until its spec's trial budget (or this worker's ``n_trials``) is reached.

    Args:
        study_name: The study, created by ``optuna-glo create-study``.
        storage_url: Its storage.
        n_trials: Stop after this many trials of this worker (default: no limit of its own).
        device: Training device (default: CUDA if present, else CPU).
        data_dir: Where data sets are read.
        download: Whether a missing data set may be downloaded.
        progress: Show a progress bar (trials done, best value, trials per minute).
        callbacks: Called with ``(study, frozen_trial)`` after each trial this worker tells.
        before_tell: Called with ``(study, trial)`` while the trial still runs, after its
            objective returned (artifacts such as the loss-shape PNG need a running trial).
        heartbeat_interval: Seconds between heartbeats of the running trial; ``None`` turns
            heartbeats (and so the detection of dead workers) off.
        grace_period: Seconds without a heartbeat after which a running trial is failed and
            retried (default: :func:`default_grace_period`, four heartbeat intervals).
        max_retry: Re-runs of one candidate whose workers died (``None``: no limit). After
            that its slot goes to a new candidate.
        pool_size: Connections in this worker's pool (default 3: see
            :mod:`optuna_glo.runtime.storage`); also settable as ``?pool_size=N`` in the URL.
        max_overflow: Connections beyond ``pool_size`` when all are busy (default 0).
        reconnect_timeout: Seconds to keep retrying an unreachable database before giving up.
        handle_signals: Install SIGINT/SIGTERM handlers (main thread only): SIGTERM or a
            second Ctrl-C gives the running trial back, a first Ctrl-C lets it finish.
        objective: Run this instead of the spec's training objective (the study's budget,
            sampler and everything above stay the same): for benchmarks and custom searches.
        population_batch: Batch mode: ask up to this many trials, train them together as one
            population (``objectives.evaluate_trials``: vectorized where the device measured
            it faster), tell them all. A batch never crosses a generation of the sampler's
            population size, so CMA-ES sees whole generations. Default: the spec's
            ``[training] population_batch``, else one trial at a time.
    """
    if n_trials is not None and n_trials < 1:
        raise ValueError(f"`n_trials` must be >= 1. The specified `n_trials` is {n_trials}.")
    if heartbeat_interval is not None and heartbeat_interval < 1:
        raise ValueError(
            "`heartbeat_interval` must be a whole number of seconds >= 1 (or None for no "
            f"heartbeats). The specified `heartbeat_interval` is {heartbeat_interval}."
        )
    if grace_period is not None and (
        heartbeat_interval is None or grace_period <= heartbeat_interval
    ):
        raise ValueError(
            "`grace_period` must be longer than `heartbeat_interval`. The specified values are "
            f"{grace_period} and {heartbeat_interval}."
        )
    if population_batch is not None and population_batch < 1:
        raise ValueError(
            f"`population_batch` must be >= 1. The specified `population_batch` is "
            f"{population_batch}."
        )
    if max_retry is not None and max_retry < 0:
        raise ValueError(f"`max_retry` must be >= 0. The specified `max_retry` is {max_retry}.")
    if reconnect_timeout <= 0:
        raise ValueError(
            f"`reconnect_timeout` must be positive. The specified value is {reconnect_timeout}."
        )
    if heartbeat_interval is not None and grace_period is None:
        grace_period = default_grace_period(heartbeat_interval)

    storage_options: dict[str, Any] = {
        "pool_size": pool_size,
        "max_overflow": max_overflow,
        "application_name": _application_name(),
    }
    if heartbeat_interval is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=max_retry)
        storage_options.update(
            heartbeat_interval=heartbeat_interval,
            grace_period=grace_period,
            heartbeat_stale_trial_callback=retry,
        )
    reconnect = _Reconnect(storage_url, reconnect_timeout)
    study, spec = reconnect.call(
        "loading the study", lambda: load_study(study_name, storage_url, **storage_options)
    )
    rdb = study._storage._backend if hasattr(study._storage, "_backend") else study._storage
    assert isinstance(rdb, optuna.storages.RDBStorage)
    if objective is None:
        objective = make_objective(spec, device=device, data_dir=data_dir, download=download)
    if population_batch is None:
        population_batch = spec.training.population_batch
    budget = spec.n_trials
    worker = _Worker(study, rdb, budget, reconnect, heartbeat_interval, grace_period)
    signals = _Signals()
    heartbeat = _Heartbeat(rdb, heartbeat_interval) if heartbeat_interval is not None else None

    start = time.perf_counter()
    done = given_back = 0
    bar = tqdm(
        total=budget, desc=study_name, unit="trial", disable=not progress, dynamic_ncols=True,
    )

    def show(**postfix: str) -> None:
        if not progress:
            return  # no query for a bar nobody sees
        bar.n = min(budget, worker.used)
        minutes = (time.perf_counter() - start) / 60
        best = _best_value(study)
        bar.set_postfix(
            best=f"{best:.4f}" if best is not None else "-",
            per_min=f"{done / minutes:.1f}" if minutes > 0 else "-",
            **postfix,
            refresh=False,
        )
        bar.refresh()

    try:
        with signals.installed(handle_signals):
            while not signals.stop_requested and (n_trials is None or done < n_trials):
                claim = reconnect.call("claiming a trial", worker.claim)
                if claim is None:
                    break
                if isinstance(claim, _Wait):
                    show(waiting=f"{claim.running} running")
                    reconnect.call("looking for orphaned trials", worker.wait_check)
                    assert heartbeat_interval is not None
                    signals.wake.wait(min(heartbeat_interval, 5))
                    continue
                trials = [claim]
                limit = _batch_limit(population_batch, spec.batch_period, worker.used,
                                     None if n_trials is None else n_trials - done)
                while len(trials) < limit:
                    more = reconnect.call("claiming a trial", worker.claim)
                    if not isinstance(more, optuna.trial.Trial):
                        break
                    trials.append(more)
                if heartbeat is not None:
                    heartbeat.beat_for([t._trial_id for t in trials])
                told: list[optuna.trial.FrozenTrial | None] = []
                try:
                    try:
                        with signals.trial_running():
                            values = _evaluate(objective, trials, population_batch)
                    except _GiveBack:
                        for trial in trials:
                            given_back += worker.give_back(trial, timeout=30.0)
                        break
                    except optuna.exceptions.UpdateFinishedTrialError:
                        _log(f"a trial of {_numbers(trials)} was failed as stale while it ran "
                             "(no heartbeat reached the database within the grace period); its "
                             "retry re-runs it")
                        for trial in trials:  # the others of its batch go back to the study
                            given_back += worker.give_back(trial)
                        continue
                    except Exception as err:
                        if is_connection_error(err):
                            _log(f"lost the database during trial {_numbers(trials)}")
                            for trial in trials:
                                given_back += worker.give_back(trial)
                            continue
                        for trial in trials:
                            worker.fail(trial)
                        raise
                    for trial, value in zip(trials, values, strict=True):
                        for hook in before_tell:
                            hook(study, trial)
                        told.append(worker.tell(trial, value))
                finally:
                    if heartbeat is not None:
                        heartbeat.beat_for(())
                for frozen in told:
                    if frozen is not None:
                        for callback in callbacks:
                            callback(study, frozen)
                    done += 1
                with contextlib.suppress(Exception):
                    show()
    finally:
        bar.close()
        if heartbeat is not None:
            heartbeat.close()
    try:
        best_value = _best_value(study)
    except Exception as err:
        if not is_connection_error(err):
            raise
        best_value = None
    return WorkerSummary(
        done, time.perf_counter() - start, best_value, given_back, signals.stop_requested
    )
