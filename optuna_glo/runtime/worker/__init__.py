"""The worker: asks the study's sampler for candidates, trains them, tells the results.

Any number of workers, in any number of processes and machines, can work on one study at once:
the sampler's state (CMA-ES's optimizer, GP generations) lives in the storage. What keeps many
workers safe, one module each:

- **Exact budget** (``_claim``): counting the budget and asking for a trial happen under the
  study's budget lock, so two workers never both take the last slot.
- **Heartbeats** (``_heartbeat``, ``_orphans``): a background thread records the heartbeats of
  the running trials; stale trials are failed and re-run with the same parameters by
  ``RetryHeartbeatStaleTrialCallback``, at most ``max_retry`` times per candidate.
- **Signals** (``_signals``): SIGTERM (and a second Ctrl-C) gives the running trial back at
  once; a first Ctrl-C lets it finish. Either way the worker exits normally and leaves no trial
  RUNNING. A stop is honoured within seconds, also while the database is away.
- **Dropped connections** (``_reconnect``, ``_finish``): storage calls are retried with
  exponential backoff; a result finished while the database was away is told once it is back.

The loop itself (``_loop``): claim a batch, train it, finish it (tell, or give back).
"""

from optuna_glo.runtime.worker._claim import BUDGET_STATES
from optuna_glo.runtime.worker._loop import WorkerSummary, run_worker
from optuna_glo.runtime.worker._options import (
    DEFAULT_HEARTBEAT_INTERVAL,
    DEFAULT_MAX_RETRY,
    DEFAULT_RECONNECT_TIMEOUT,
    BeforeTellHook,
    TrialCallback,
    WorkerOptions,
    default_grace_period,
)

__all__ = [
    "BUDGET_STATES",
    "DEFAULT_HEARTBEAT_INTERVAL",
    "DEFAULT_MAX_RETRY",
    "DEFAULT_RECONNECT_TIMEOUT",
    "BeforeTellHook",
    "TrialCallback",
    "WorkerOptions",
    "WorkerSummary",
    "default_grace_period",
    "run_worker",
]
