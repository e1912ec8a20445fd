"""Orchestration benchmark: what the worker costs around training, with a simulated GPU.

The real worker loop (``run_worker``: budget lock, claims, heartbeats, tells), the real samplers
of the method (TaylorGLO's CMA-ES, GLO's) and the real suggest of each candidate's loss; only
the training is replaced by a sleep of ``--train-seconds``: per candidate one by one, per
claimed batch in batch mode (``--batch K``: K candidates trained together as one model stack).
The sleep comes in through the objective interface (``WorkerOptions.objective``, a
``BatchObjective``); the worker is not touched.

W worker processes start together on one study of ``--trials`` trials on one storage:

- ``sqlite``: a new SQLite file; ``postgresql``: a new database on ``--pg``'s server;
- ``journal``: a new journal file; ``redis``: an empty database of ``--redis``'s server
  (flushed afterwards); ``grpc``: ``optuna-glo storage-proxy`` in front of a new PostgreSQL
  database (``grpc-sqlite``: in front of a SQLite file).

Reported: per-trial orchestration time (the time between two trainings of a worker, divided by
the trials of the next training: median, p95), overhead (the share of the workers' wall time
not spent "training"), and the per-trial cost of the first 100 trials against trials N-100..N.
Also: the CMA-ES generations the trials reached and the extras (trials drawn from a generation
that was still running, never told: a worker now waits instead). ``--population P`` is the
generation size; with W workers, ``--batch ceil(P / W)`` lets every worker train a share of each
generation. Last line: ``overhead=<percent> per_trial_ms=<median> storage=<kind> workers=<W>``.

    python benchmarks/orchestration.py --storage postgresql --workers 16 --batch 2 \\
        --population 28 --trials 448 --train-seconds 0.36 [--method taylorglo] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
STORAGES = ("sqlite", "postgresql", "journal", "redis", "grpc", "grpc-sqlite")

SPEC = """
[study]
name = "orchestration"
method = "{method}"
task = "digits-mlp"
n_trials = {n_trials}
seed = 0

[{method}]
population_size = {population}
"""


class SimulatedGpu:
    """The spec's objective with training replaced by a sleep (a simulated GPU).

    Each candidate's loss is still suggested and built (``LossSearchObjective.candidate``: the
    sampler's real work); its "accuracy" is a smooth function of the parameters, so the sampler
    has something to follow.
    """

    def __init__(self, inner: Any, seconds: float, log: list[tuple[float, float, int]]) -> None:
        self._inner = inner
        self._seconds = seconds
        self._log = log  # (training start, training end, trials) per training

    def _value(self, trial: Any) -> float:
        loss = self._inner.candidate(trial)
        if isinstance(loss, float):
            return loss
        return 1.0 / (1.0 + sum(v * v for v in trial.params.values() if isinstance(v, float)))

    def _train(self, n: int) -> None:
        start = time.perf_counter()
        time.sleep(self._seconds)
        self._log.append((start, time.perf_counter(), n))

    def __call__(self, trial: Any) -> float:
        value = self._value(trial)
        self._train(1)
        return value

    def train_batch(self, trials: Sequence[Any]) -> list[float]:
        values = [self._value(t) for t in trials]
        self._train(len(trials))
        return values


def _child(url: str, batch: int, seconds: float, barrier: Any, out: Any) -> None:
    # Everything a worker imports once (CMA-ES's ``cmaes`` took 7-25 s on the loaded 2-core
    # machine) is imported before the start: the figures are the steady state.
    import cmaes  # noqa: F401
    import optuna
    import torch

    from optuna_glo.runtime.methods import make_objective
    from optuna_glo.runtime.study import load_study
    from optuna_glo.runtime.worker import run_worker

    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    _, spec = load_study("orchestration", url, with_sampler=False)
    log: list[tuple[float, float, int]] = []
    told: list[tuple[float, int]] = []
    gpu = SimulatedGpu(make_objective(spec, device="cpu"), seconds, log)
    barrier.wait()
    start = time.perf_counter()
    run_worker(
        "orchestration", url, progress=False, objective=gpu, handle_signals=False,
        population_batch=batch if batch > 1 else None,
        callbacks=[lambda study, t: told.append((time.perf_counter(), t.number))],
    )
    out.put({"start": start, "end": time.perf_counter(), "trainings": log, "told": told})


@contextmanager
def _storage(kind: str, args: argparse.Namespace) -> Iterator[str]:
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        if kind == "sqlite":
            yield f"sqlite:///{tmp}/bench.db"
        elif kind == "journal":
            yield str(tmp / "bench.log")
        elif kind == "postgresql":
            yield stack.enter_context(_pg_database(args.pg))
        elif kind == "redis":
            yield stack.enter_context(_redis_database(args.redis))
        elif kind in ("grpc", "grpc-sqlite"):
            backing = (stack.enter_context(_pg_database(args.pg)) if kind == "grpc"
                       else f"sqlite:///{tmp}/proxied.db")
            yield stack.enter_context(_proxy(backing, args.port))
        else:
            raise SystemExit(f"--storage must be one of {', '.join(STORAGES)}, got {kind!r}")


@contextmanager
def _pg_database(admin: str) -> Iterator[str]:
    import psycopg2

    name = f"optuna_glo_bench_{uuid.uuid4().hex[:10]}"
    conn = psycopg2.connect(admin)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        yield f"{admin.rsplit('/', 1)[0]}/{name}"
    finally:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


@contextmanager
def _redis_database(server: str) -> Iterator[str]:
    import redis

    token = uuid.uuid4().hex
    for db in range(1, 16):
        client = redis.Redis.from_url(f"{server}/{db}")
        if client.dbsize() == 0 and client.set("optuna-glo-bench:claimed", token, nx=True):
            try:
                yield f"{server}/{db}"
            finally:
                client.flushdb()
            return
    raise SystemExit(f"no empty database (1..15) on the Redis server {server}")


@contextmanager
def _proxy(backing: str, port: int) -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "optuna_glo", "storage-proxy", "--storage", backing,
         "--port", str(port)], cwd=REPO,
    )
    try:
        yield f"grpc://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _costs(result: dict[str, Any]) -> list[tuple[int, float]]:
    """(trial number, orchestration ms) of each trial of one worker.

    The time between a training's end (or the worker's start) and the next training's start is
    shared by the trials of that next training; the tells after a worker's last training go to
    its last trials.
    """
    told = sorted(result["told"])
    numbers = [n for _, n in told]
    costs: list[tuple[int, float]] = []
    previous_end, k, n = result["start"], 0, 1
    for start, end, n in result["trainings"]:
        gap = (start - previous_end) * 1000 / n
        costs.extend((number, gap) for number in numbers[k:k + n])
        previous_end, k = end, k + n
    tail = (result["end"] - previous_end) * 1000 / n
    return [(number, ms + tail if i >= len(costs) - n else ms)
            for i, (number, ms) in enumerate(costs)]


def run(args: argparse.Namespace) -> dict[str, Any]:
    """One benchmark run: W workers on a fresh storage; the figures."""
    from optuna_glo.runtime.spec import StudySpec
    from optuna_glo.runtime.study import create_study

    population = args.population
    spec = StudySpec.from_dict(tomllib.loads(SPEC.format(
        method=args.method, n_trials=args.trials, population=population)))
    ctx = mp.get_context("spawn")
    with _storage(args.storage, args) as url:
        create_study(spec, url)
        barrier, out = ctx.Barrier(args.workers + 1), ctx.Queue()
        procs = [ctx.Process(target=_child, args=(url, args.batch, args.train_seconds, barrier,
                                                  out)) for _ in range(args.workers)]
        for p in procs:
            p.start()
        barrier.wait()
        results = [out.get(timeout=3600) for _ in procs]
        for p in procs:
            p.join()
        generations = _generations(url, population)
    start = min(r["start"] for r in results)
    wall = max(r["end"] for r in results) - start
    training = sum(end - s for r in results for s, end, _ in r["trainings"])
    costs = sorted(c for r in results for c in _costs(r))
    per_trial = [ms for _, ms in costs]
    n = len(costs)
    first = [ms for number, ms in costs if number < 100]
    last = [ms for number, ms in costs if number >= max(100, args.trials - 100)]
    return {
        "storage": args.storage, "workers": args.workers, "batch": args.batch,
        "method": args.method, "trials": n, "train_seconds": args.train_seconds,
        "wall_s": wall,
        "overhead": 1 - training / (args.workers * wall),
        "per_trial_ms_median": statistics.median(per_trial),
        "per_trial_ms_p95": _percentile(per_trial, 0.95),
        "first_100_ms_median": statistics.median(first) if first else None,
        "last_100_ms_median": statistics.median(last) if last else None,
        "population": population, **generations,
    }


def _generations(url: str, population: int) -> dict[str, int]:
    """CMA-ES generations the trials reached, and the extras: trials of a generation beyond its
    ``population`` (drawn while it still ran, never told: trained for nothing)."""
    from collections import Counter

    from optuna_glo.runtime.study import load_study
    from optuna_glo.samplers.cmaes import GENERATION_KEY

    study, _ = load_study("orchestration", url, with_sampler=False)
    count = Counter(t.system_attrs.get(GENERATION_KEY) for t in study.get_trials(deepcopy=False))
    count.pop(None, None)
    return {"generations": len(count),
            "extras": sum(max(0, n - population) for n in count.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--storage", default="sqlite", choices=STORAGES)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--trials", type=int, default=112)
    parser.add_argument("--batch", type=int, default=1,
                        help="candidates claimed and trained together (1: one by one)")
    parser.add_argument("--population", type=int, default=28,
                        help="the sampler's generation size (a batch never crosses one)")
    parser.add_argument("--train-seconds", type=float, default=0.18,
                        help="simulated training per candidate (one by one) or per batch")
    parser.add_argument("--method", default="taylorglo", choices=("taylorglo", "glo"))
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379")
    parser.add_argument("--port", type=int, default=13071, help="port of the gRPC proxy")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args()
    row = run(args)
    row["machine"] = f"{platform.machine()}, {os.cpu_count()} CPUs"
    row["load_average"] = os.getloadavg()
    print(json.dumps(row, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(row, indent=2))
    print(f"generations={row['generations']} extras={row['extras']}")
    print(f"overhead={100 * row['overhead']:.1f}% per_trial_ms={row['per_trial_ms_median']:.1f} "
          f"storage={row['storage']} workers={row['workers']}")


if __name__ == "__main__":
    main()
