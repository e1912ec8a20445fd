"""Storage benchmark: what an optuna-glo worker costs per trial, beside plain ``study.optimize``.

The objective costs nothing (it returns 0.0 and suggests no parameter), so what is timed is the
orchestration alone. For each storage and each number of concurrent worker processes W:

- ``optuna-glo``: W processes run :func:`optuna_glo.runtime.worker.run_worker` (budget lock,
  stale-trial check and budget count before every ask, first heartbeat, tell; a heartbeat
  thread) on one study with a budget of ``--trials`` trials;
- ``optimize``: W processes run Optuna's plain ``study.optimize`` with ``RandomSampler`` (no
  heartbeats, no budget: each runs its share of the trials) on the same kind of storage.

Every process imports and connects first; all start together. Reported: the median time from
one trial's end to the next one's end within a process (ms per trial: what one worker pays per
trial), and trials per second of all processes together, from the start signal to the last
trial told. Each storage and W gets a fresh database (PostgreSQL: ``CREATE DATABASE`` with a
unique name, dropped afterwards; SQLite: a new file).

    python benchmarks/storage.py [--storages sqlite,postgresql] [--workers 1,4,16]
                                 [--trials 160] [--pg postgresql://postgres@127.0.0.1:5432/postgres]
                                 [--json FILE]
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing as mp
import os
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

SPEC = """
[study]
name = "bench"
method = "taylorglo"
task = "digits-mlp"
n_trials = {n_trials}

[taylorglo]
population_size = 8
"""


def _zero(trial: Any) -> float:
    return 0.0


def _glo_child(url: str, barrier: Any, out: Any) -> None:
    import optuna

    from optuna_glo.runtime.worker import run_worker

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    ends: list[float] = []
    barrier.wait()
    run_worker(
        "bench", url, progress=False, objective=_zero, handle_signals=False,
        callbacks=[lambda study, trial: ends.append(time.perf_counter())],
    )
    out.put(ends)


def _optimize_child(url: str, n_trials: int, barrier: Any, out: Any) -> None:
    import optuna

    from optuna_glo.runtime.storage import open_storage

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    ends: list[float] = []
    barrier.wait()
    study = optuna.load_study(
        study_name="bench", storage=open_storage(url), sampler=optuna.samplers.RandomSampler()
    )
    study.optimize(
        _zero, n_trials=n_trials,
        callbacks=[lambda study, trial: ends.append(time.perf_counter())],
    )
    out.put(ends)


@contextmanager
def _database(kind: str, pg_admin: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    import psycopg2

    name = f"optuna_glo_bench_{uuid.uuid4().hex[:10]}"
    conn = psycopg2.connect(pg_admin)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        yield f"{pg_admin.rsplit('/', 1)[0]}/{name}"
    finally:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


def _run(kind: str, mode: str, workers: int, n_trials: int, pg_admin: str) -> dict[str, Any]:
    import optuna

    from optuna_glo.runtime.spec import StudySpec
    from optuna_glo.runtime.storage import open_storage
    from optuna_glo.runtime.study import create_study

    ctx = mp.get_context("spawn")
    with _database(kind, pg_admin) as url:
        per_worker = n_trials // workers
        if mode == "optuna-glo":
            import tomllib

            create_study(StudySpec.from_dict(tomllib.loads(SPEC.format(n_trials=n_trials))), url)
            target, extra = _glo_child, ()
        else:
            storage = open_storage(url)
            optuna.create_study(study_name="bench", storage=storage, direction="maximize")
            storage.engine.dispose()
            target, extra = _optimize_child, (per_worker,)
        barrier = ctx.Barrier(workers + 1)
        out = ctx.Queue()
        procs = [
            ctx.Process(target=target, args=(url, *extra, barrier, out)) for _ in range(workers)
        ]
        for p in procs:
            p.start()
        barrier.wait()
        start = time.perf_counter()
        ends = [out.get(timeout=1800) for _ in procs]
        for p in procs:
            p.join()
        storage = open_storage(url)
        trials = optuna.load_study(study_name="bench", storage=storage).get_trials(
            deepcopy=False
        )
        storage.engine.dispose()
    gaps = [b - a for e in ends for a, b in itertools.pairwise(e)]
    last = max(max(e) for e in ends if e)
    told = sum(len(e) for e in ends)
    return {
        "storage": kind,
        "mode": mode,
        "workers": workers,
        "trials": told,
        "trials_in_study": len(trials),
        "median_ms_per_trial": 1000 * statistics.median(gaps) if gaps else None,
        "trials_per_s": told / (last - start),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--storages", default="sqlite,postgresql")
    parser.add_argument("--workers", default="1,4,16")
    parser.add_argument("--trials", type=int, default=160, help="trials per run (all workers)")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="PostgreSQL admin URL (a database is created and dropped per run)")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args()
    rows = []
    for kind in args.storages.split(","):
        for workers in (int(w) for w in args.workers.split(",")):
            for mode in ("optimize", "optuna-glo"):
                row = _run(kind, mode, workers, args.trials, args.pg)
                rows.append(row)
                print(
                    f"{kind:10s} {mode:10s} W={workers:2d}  {row['trials']:4d} trials  "
                    f"median {row['median_ms_per_trial']:7.1f} ms/trial  "
                    f"{row['trials_per_s']:6.1f} trials/s  (in study: {row['trials_in_study']})",
                    flush=True,
                )
    info = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "load_average": os.getloadavg(),
        "results": rows,
    }
    if args.json:
        with open(args.json, "w") as f:
            json.dump(info, f, indent=2)
    print(json.dumps({k: v for k, v in info.items() if k != "results"}))


if __name__ == "__main__":
    main()
