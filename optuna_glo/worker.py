"""The worker: asks the study's sampler for candidates, trains them, tells the results.

Any number of workers, in any number of processes and machines, can work on one study at once:
the sampler's state (CMA-ES's optimizer, GP generations) lives in the storage.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import optuna
from optuna.trial import TrialState
from tqdm.auto import tqdm

from optuna_glo.methods import make_objective
from optuna_glo.study import load_study

#: Called after each trial this worker tells, like ``study.optimize``'s callbacks.
TrialCallback = Callable[[optuna.Study, optuna.trial.FrozenTrial], None]

#: Trials that use up the study's budget. Failed trials do not: they are re-run.
BUDGET_STATES = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)


@dataclass
class WorkerSummary:
    """What one worker did."""

    n_trials: int
    seconds: float
    best_value: float | None


def count_budget_used(study: optuna.Study) -> int:
    """Trials that count against the budget: finished, pruned and running ones."""
    return len(study.get_trials(deepcopy=False, states=BUDGET_STATES))


def _best_value(study: optuna.Study) -> float | None:
    try:
        return study.best_value
    except ValueError:  # no completed trial yet
        return None


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
    """
    if n_trials is not None and n_trials < 1:
        raise ValueError(f"`n_trials` must be >= 1. The specified `n_trials` is {n_trials}.")
    study, spec = load_study(study_name, storage_url)
    objective = make_objective(spec, device=device, data_dir=data_dir, download=download)
    budget = spec.n_trials
    start = time.perf_counter()
    done = 0
    bar = tqdm(
        total=budget, initial=min(budget, count_budget_used(study)), desc=study_name,
        unit="trial", disable=not progress, dynamic_ncols=True,
    )
    try:
        while n_trials is None or done < n_trials:
            used = count_budget_used(study)
            bar.n = min(budget, used)
            bar.refresh()
            if used >= budget:
                break
            trial = study.ask()
            try:
                value = objective(trial)
            except BaseException:
                # Nothing stays RUNNING: the failed trial is recorded and will be re-run.
                study.tell(trial, state=TrialState.FAIL)
                raise
            frozen = study.tell(trial, value)
            for callback in callbacks:
                callback(study, frozen)
            done += 1
            minutes = (time.perf_counter() - start) / 60
            best = _best_value(study)
            bar.set_postfix(
                best=f"{best:.4f}" if best is not None else "-",
                per_min=f"{done / minutes:.1f}" if minutes > 0 else "-",
                refresh=False,
            )
    finally:
        bar.close()
    return WorkerSummary(done, time.perf_counter() - start, _best_value(study))
