"""The worker's loop: claim a batch, train it, finish it (tell, or give back).

Everything else a worker does lives in the modules around this one: claims under the budget
lock (``_claim``), heartbeats (``_heartbeat``), the orphan watch (``_orphans``), signals
(``_signals``), reconnects (``_reconnect``), telling and giving back (``_finish``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import optuna

from optuna_glo.objectives import LossSearchObjective, train_trials
from optuna_glo.runtime.artifacts import default_artifact_dir
from optuna_glo.runtime.methods import make_objective
from optuna_glo.runtime.population import PopulationObjective
from optuna_glo.runtime.spec import StudySpec
from optuna_glo.runtime.storage import is_connection_error, open_storage
from optuna_glo.runtime.study import load_study
from optuna_glo.runtime.worker._beats import beats_for
from optuna_glo.runtime.worker._claim import Claimer, Wait
from optuna_glo.runtime.worker._finish import Finisher, Outcome
from optuna_glo.runtime.worker._heartbeat import Heartbeat
from optuna_glo.runtime.worker._log import log
from optuna_glo.runtime.worker._options import BatchObjective, Objective, WorkerOptions
from optuna_glo.runtime.worker._orphans import OrphanWatch
from optuna_glo.runtime.worker._progress import Progress, best_value
from optuna_glo.runtime.worker._reconnect import Reconnect, Stopped
from optuna_glo.runtime.worker._signals import GiveBackSignal, Signals, pause


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


@dataclass(frozen=True)
class GiveBack:
    """The outcome of a batch that goes back to the study untold."""

    #: Logged before the trials are given back (``None``: already said).
    why: str | None
    #: A signal asked for it: try only briefly while the database is away.
    urgent: bool = False


def run_worker(
    study_name: str, storage_url: str, options: WorkerOptions | None = None, **fields: Any
) -> WorkerSummary:
    """Work on a study until its spec's trial budget (or this worker's ``n_trials``) is reached.

    Args:
        study_name: The study, created by ``optuna-glo create-study``.
        storage_url: Its storage.
        options: How to work (default: :class:`WorkerOptions`' defaults).
        fields: :class:`WorkerOptions` fields, set on ``options`` (e.g. ``n_trials=3``).
    """
    options = dataclasses.replace(options or WorkerOptions(), **fields)
    worker = _Worker(study_name, storage_url, options)
    try:
        with worker.signals.installed(options.handle_signals):
            _work(worker)
    except Stopped as err:
        log(f"{err} {worker.held_trials_note()}")
    finally:
        worker.close()
    return worker.summary()


def _work(w: _Worker) -> None:
    """Claim a batch, train it, finish it (tell, or give back), until the budget is reached."""
    while w.wants_more():
        batch = w.claimer.claim_batch(left=w.left())
        if batch is None:
            return  # the budget is complete
        if isinstance(batch, Wait):
            w.wait(batch)
            continue
        with w.heartbeat.beating(batch):
            told = w.finish(batch, w.train(batch))
        w.after_tell(told)


def _train(
    objective: Objective, trials: Sequence[optuna.trial.Trial], population_batch: int | None
) -> list[Outcome]:
    """The trials' outcomes: one model stack (batch mode), the objective's own ``train_batch``
    (:class:`~optuna_glo.runtime.worker._options.BatchObjective`), or trial by trial. EPBT/PBT
    children start from their parents' weights: :class:`PopulationObjective` stacks them.

    A trial the study's pruner stopped has its ``optuna.TrialPruned`` in place of a value.
    """
    if len(trials) > 1 and isinstance(objective, PopulationObjective):
        return list(objective.train_trials(trials, population_batch=population_batch))
    if len(trials) > 1 and isinstance(objective, LossSearchObjective):
        return train_trials(objective, trials, population_batch=population_batch)
    if len(trials) > 1 and isinstance(objective, BatchObjective):
        return list(objective.train_batch(trials))
    outcomes: list[Outcome] = []
    for trial in trials:
        try:
            outcomes.append(objective(trial))
        except optuna.TrialPruned as pruned:
            outcomes.append(pruned)
    return outcomes


def _numbers(trials: Sequence[optuna.trial.Trial]) -> str:
    return ", ".join(str(t.number) for t in trials)


class _Worker:
    """What one worker holds while it works: its study, claims, heartbeats and counts."""

    def __init__(self, study_name: str, storage_url: str, options: WorkerOptions) -> None:
        self.options = options
        self.signals = Signals()
        self.reconnect = Reconnect(storage_url, options.reconnect_timeout)
        self.study, self.spec, storage = self.reconnect.call(
            "loading the study", lambda: _open(study_name, storage_url, options)
        )
        population = self.spec.population_size
        if options.population_batch and population and options.population_batch > population:
            raise ValueError(
                f"`population_batch` (--population-batch) must be at most study "
                f"{study_name!r}'s population size ({population}): a batch never crosses a "
                f"generation. The specified value is {options.population_batch}."
            )
        self.objective = options.objective or make_objective(
            self.spec, device=options.device, data_dir=options.data_dir,
            download=options.download, artifact_dir=default_artifact_dir(storage_url),
        )
        self.population_batch = options.population_batch or self.spec.training.population_batch
        interval, grace = options.heartbeat_interval, options.effective_grace_period
        beats = (
            beats_for(storage, grace_period=grace, max_retry=options.max_retry) if grace else None
        )
        self.claimer = Claimer(
            self.study, storage, beats, budget=self.spec.n_trials, batch=self.population_batch or 1,
            population_size=self.spec.batch_period, reconnect=self.reconnect,
            heartbeat_interval=interval, stop=self.signals.stopping,
        )
        self.finisher = Finisher(self.study, storage, self.reconnect, self.signals.giving_back)
        self.orphans = (
            OrphanWatch(beats, storage, self.study._study_id, grace) if beats and grace else None
        )
        self.heartbeat = Heartbeat(beats, storage, interval)
        self.progress = Progress(self.study, self.spec.n_trials, enabled=options.progress)
        self.done = self.given_back = 0

    def wants_more(self) -> bool:
        """Whether to claim more: no signal said stop, this worker's ``n_trials`` not reached."""
        n_trials = self.options.n_trials
        return not self.signals.stop_requested and (n_trials is None or self.done < n_trials)

    def left(self) -> int | None:
        """Trials left of this worker's own ``n_trials`` (``None``: no limit of its own)."""
        n_trials = self.options.n_trials
        return None if n_trials is None else n_trials - self.done

    def wait(self, wait: Wait) -> None:
        """The budget is taken but trials run: look for orphans, wait a little (or a signal)."""
        self.progress.show(
            used=self.claimer.used, done=self.done,
            waiting=f"{wait.running} running" + (", generation full" if wait.generation else ""),
        )
        if self.orphans is not None:
            self.reconnect.call("looking for orphaned trials", self.orphans.check,
                                stop=self.signals.stopping)
        assert self.options.heartbeat_interval is not None  # no waiting without heartbeats
        # A generation opens when its last running trial is told: look again soon.
        longest = 1.0 if wait.generation else 5.0
        pause(min(self.options.heartbeat_interval, longest), self.signals.stopping)

    def train(self, batch: list[optuna.trial.Trial]) -> list[Outcome] | GiveBack:
        """The batch's values, or why it goes back: the one place exceptions become outcomes."""
        try:
            with self.signals.trial_running():
                return _train(self.objective, batch, self.population_batch)
        except GiveBackSignal:
            return GiveBack(None, urgent=True)
        except optuna.exceptions.UpdateFinishedTrialError:
            return GiveBack(
                f"a trial of {_numbers(batch)} was failed as stale while it ran (no heartbeat "
                "reached the database within the grace period); its retry re-runs it"
            )
        except Exception as err:
            if is_connection_error(err):
                return GiveBack(f"lost the database during trial {_numbers(batch)}")
            self.finisher.fail(batch)
            raise

    def finish(
        self, batch: list[optuna.trial.Trial], outcome: list[Outcome] | GiveBack
    ) -> list[optuna.trial.FrozenTrial | None]:
        """Tell the values or prunings (after the before-tell hooks), or give the batch back."""
        if isinstance(outcome, GiveBack):
            if outcome.why:
                log(outcome.why)
            self.given_back += self.finisher.give_back(batch, urgent=outcome.urgent)
            return []
        told = []
        for trial, value in zip(batch, outcome, strict=True):
            for hook in self.options.before_tell:
                hook(self.study, trial)
            told.append(self.finisher.tell(trial, value))
        return told

    def after_tell(self, told: list[optuna.trial.FrozenTrial | None]) -> None:
        """Run the callbacks for each told trial, count it, show the progress."""
        for frozen in told:
            if frozen is not None:
                for callback in self.options.callbacks:
                    callback(self.study, frozen)
            self.done += 1
        if told:
            with contextlib.suppress(Exception):
                self.progress.show(used=self.claimer.used, done=self.done)

    def held_trials_note(self) -> str:
        """What becomes of trials this worker held when it stops without the database."""
        if self.options.heartbeat_interval is None:
            return "Trials it held stay RUNNING: heartbeats are off."
        return ("Trials it held go back to the study once their heartbeats are older than the "
                "grace period.")

    def close(self) -> None:
        """Close the progress bar and stop the heartbeats."""
        self.progress.close()
        self.heartbeat.close()

    def summary(self) -> WorkerSummary:
        """What this worker did (the best value is ``None`` while the database is away)."""
        try:
            best = best_value(self.study)
        except Exception as err:
            if not is_connection_error(err):
                raise
            best = None
        return WorkerSummary(self.done, self.progress.seconds, best, self.given_back,
                             self.signals.stop_requested)


def _open(
    study_name: str, storage_url: str, options: WorkerOptions
) -> tuple[optuna.Study, StudySpec, optuna.storages.BaseStorage]:
    """The study (with its sampler), its spec and its storage, opened with the options' pool
    and heartbeat settings."""
    storage_options: dict[str, Any] = {}
    if options.heartbeat_interval is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=options.max_retry)
        storage_options.update(
            heartbeat_interval=options.heartbeat_interval,
            grace_period=options.effective_grace_period,
            heartbeat_stale_trial_callback=retry,
        )
    storage = open_storage(
        storage_url, pool_size=options.pool_size, max_overflow=options.max_overflow,
        application_name=f"optuna-glo worker {socket.gethostname()}:{os.getpid()}",
        **storage_options,
    )
    study, spec = load_study(study_name, storage_url, storage=storage)
    return study, spec, storage
