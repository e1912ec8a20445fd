"""A worker's options, checked once: bad values fail before the worker touches the study."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from optuna_glo.keys import MAX_POPULATION_BATCH

if TYPE_CHECKING:
    import optuna

#: Called after each trial this worker tells, like ``study.optimize``'s callbacks.
TrialCallback = Callable[["optuna.Study", "optuna.trial.FrozenTrial"], None]
#: Called with the running trial after its objective returned, just before it is told: the place
#: for artifacts, which Optuna accepts only on a running trial.
BeforeTellHook = Callable[["optuna.Study", "optuna.trial.Trial"], object]
#: A trial's objective, when it replaces the spec's training objective.
Objective = Callable[["optuna.trial.Trial"], float]



@runtime_checkable
class BatchObjective(Protocol):
    """An objective that also trains a claimed batch at once (batch mode), as the spec's
    training objective does with a model stack: e.g. a simulated GPU in benchmarks."""

    def __call__(self, trial: optuna.trial.Trial) -> float:
        """One trial's value."""

    def train_batch(self, trials: Sequence[optuna.trial.Trial]) -> Sequence[float]:
        """The values of ``trials``, trained together."""


#: Default seconds between heartbeats of a running trial.
DEFAULT_HEARTBEAT_INTERVAL = 30
#: Default retries of a candidate whose worker died (``RetryHeartbeatStaleTrialCallback``).
DEFAULT_MAX_RETRY = 3
#: Default seconds a worker keeps retrying an unreachable database before it gives up.
DEFAULT_RECONNECT_TIMEOUT = 600.0


def default_grace_period(heartbeat_interval: int) -> int:
    """Four heartbeats: a worker survives a short database hiccup without losing its trial."""
    return 4 * heartbeat_interval


@dataclass(frozen=True, kw_only=True)
class WorkerOptions:
    """How one worker runs. Every number is checked when the options are made.

    Args:
        n_trials: Stop after this many trials of this worker (default: no limit of its own).
        device: Training device (default: CUDA if present, else CPU).
        data_dir: Where data sets are read.
        download: Whether a missing data set may be downloaded.
        progress: Show a progress bar (trials done, best value, trials per minute).
        callbacks: Called with ``(study, frozen_trial)`` after each trial this worker tells.
        before_tell: Called with ``(study, trial)`` while the trial still runs, after its
            objective returned (artifacts such as the loss-shape PNG need a running trial).
        heartbeat_interval: Seconds between heartbeats of the running trial; ``None`` or 0
            turns heartbeats (and so the detection of dead workers) off.
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
            population (vectorized where the device measured it faster), tell them all. A
            batch never crosses a generation of the sampler's population size, so CMA-ES sees
            whole generations. Default: the spec's ``[training] population_batch``, else one
            trial at a time.
    """

    n_trials: int | None = None
    device: str | None = None
    data_dir: str | None = None
    download: bool = False
    progress: bool = True
    callbacks: Sequence[TrialCallback] = ()
    before_tell: Sequence[BeforeTellHook] = ()
    heartbeat_interval: int | None = DEFAULT_HEARTBEAT_INTERVAL
    grace_period: int | None = None
    max_retry: int | None = DEFAULT_MAX_RETRY
    pool_size: int | None = None
    max_overflow: int | None = None
    reconnect_timeout: float = DEFAULT_RECONNECT_TIMEOUT
    handle_signals: bool = True
    objective: Objective | None = None
    population_batch: int | None = None

    def __post_init__(self) -> None:
        _check_int("n_trials", self.n_trials, minimum=1)
        _check_int("heartbeat_interval", self.heartbeat_interval, minimum=0, note="0: off")
        if self.heartbeat_interval == 0:
            object.__setattr__(self, "heartbeat_interval", None)
        _check_int("max_retry", self.max_retry, minimum=0)
        _check_int("pool_size", self.pool_size, minimum=1)
        _check_int("max_overflow", self.max_overflow, minimum=0)
        _check_int("population_batch", self.population_batch, minimum=1,
                   maximum=MAX_POPULATION_BATCH)
        timeout = self.reconnect_timeout
        if not _is_number(timeout) or not math.isfinite(timeout) or timeout <= 0:
            _fail("reconnect_timeout", "a finite number of seconds > 0", timeout)
        _check_int("grace_period", self.grace_period, minimum=1)
        interval = self.heartbeat_interval
        if self.grace_period is not None and (interval is None or self.grace_period <= interval):
            _fail("grace_period", f"longer than `heartbeat_interval` ({interval})",
                  self.grace_period)

    @property
    def effective_grace_period(self) -> int | None:
        """The grace period in force: given, or four heartbeats; ``None`` without heartbeats."""
        if self.heartbeat_interval is None:
            return None
        return self.grace_period or default_grace_period(self.heartbeat_interval)


#: Options without a command-line flag (only settable from Python).
_NO_FLAG = frozenset({"max_overflow"})


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_int(
    name: str, value: object, *, minimum: int, maximum: int | None = None, note: str = ""
) -> None:
    """``value`` is ``None`` or a whole number >= ``minimum`` (and <= ``maximum``)."""
    if value is None:
        return
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or value < minimum
        or (maximum is not None and value > maximum)
    ):
        rule = f"a whole number >= {minimum}" + (f" and <= {maximum:,}" if maximum else "")
        _fail(name, rule + (f" ({note})" if note else ""), value)


def _fail(name: str, rule: str, value: object) -> None:
    """Raise the one-line error: the option, its flag, the rule and the value given."""
    flag = "" if name in _NO_FLAG else f" (--{name.replace('_', '-')})"
    raise ValueError(f"`{name}`{flag} must be {rule}. The specified value is {value!r}.")
