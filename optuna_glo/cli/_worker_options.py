"""Flags shared by ``worker`` and ``launch``: heartbeats, retries, connections, batch mode.

Defaults live in :func:`optuna_glo.runtime.worker.run_worker` (not imported here: ``--help``
stays fast); a flag left out is not passed on.
"""

from __future__ import annotations

import argparse
from typing import Any

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


def worker_options(args: argparse.Namespace) -> dict[str, Any]:
    """``run_worker`` keyword arguments from the flags given (none for commands without them)."""
    options = {
        name: getattr(args, name) for name in _FLAGS if getattr(args, name, None) is not None
    }
    interval = options.get("heartbeat_interval")
    if interval is not None and interval < 0:
        raise ValueError(f"`--heartbeat-interval` must be >= 0 (0: off), got {interval}.")
    batch = options.get("population_batch")
    if batch is not None and batch < 1:
        raise ValueError(f"`--population-batch` must be >= 1, got {batch}.")
    if interval == 0:
        options["heartbeat_interval"] = None
    return options


def worker_flags(args: argparse.Namespace) -> list[str]:
    """The flags given, as a command line for ``optuna-glo worker`` processes."""
    flags: list[str] = []
    for name in _FLAGS:
        value = getattr(args, name, None)
        if value is not None:
            flags += [f"--{name.replace('_', '-')}", str(value)]
    return flags
