"""Flags shared by ``worker`` and ``launch``: heartbeats, retries, connections, batch mode.

Defaults and checks live in :class:`optuna_glo.runtime.worker.WorkerOptions` (imported only
when a command runs: ``--help`` stays fast); a flag left out keeps its default.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from optuna_glo.runtime.worker import WorkerOptions

_FLAGS = (
    "heartbeat_interval", "grace_period", "max_retry", "pool_size", "reconnect_timeout",
    "population_batch",
)


def add_worker_options(p: argparse.ArgumentParser) -> None:
    """Add the robustness flags of a worker to ``p``."""
    g = p.add_argument_group("many workers (heartbeats, retries, connections)")
    g.add_argument(
        "--heartbeat-interval", type=int, default=None, metavar="S",
        help="seconds between heartbeats of the running trial; 0 turns heartbeats and the "
        "re-running of dead workers' trials off (default: 30)",
    )
    g.add_argument(
        "--grace-period", type=int, default=None, metavar="S",
        help="seconds without a heartbeat after which a running trial counts as dead, is failed "
        "and re-run (default: 4 heartbeat intervals)",
    )
    g.add_argument(
        "--max-retry", type=int, default=None, metavar="N",
        help="re-runs of one candidate whose worker died, before a new candidate takes its slot "
        "(default: 3)",
    )
    g.add_argument(
        "--pool-size", type=int, default=None, metavar="N",
        help="database connections this worker may hold (default 3: main thread, heartbeat "
        "thread, budget lock; also ?pool_size=N in the storage URL)",
    )
    g.add_argument(
        "--reconnect-timeout", type=float, default=None, metavar="S",
        help="seconds to keep retrying an unreachable database before giving up (default: 600)",
    )
    b = p.add_argument_group("batch mode")
    b.add_argument(
        "--population-batch", type=int, default=None, metavar="K",
        help="ask up to K trials (within one CMA-ES generation), train them together as one "
        "population (vectorized where this device measured it faster), tell all K "
        "(default: the spec's [training] population_batch, else 1)",
    )


def worker_options(args: argparse.Namespace, **fields: Any) -> WorkerOptions:
    """The worker's options: the flags given (none for commands without them) and ``fields``.

    A bad value raises a one-line ``ValueError`` naming the flag, its range and the value.
    """
    from optuna_glo.runtime.worker import WorkerOptions

    given = {name: getattr(args, name) for name in _FLAGS if getattr(args, name, None) is not None}
    return WorkerOptions(**given, **fields)


def worker_flags(args: argparse.Namespace) -> list[str]:
    """The flags given, as a command line for ``optuna-glo worker`` processes."""
    flags: list[str] = []
    for name in _FLAGS:
        value = getattr(args, name, None)
        if value is not None:
            flags += [f"--{name.replace('_', '-')}", str(value)]
    return flags
