"""One generation end to end through the batch-mode worker: training plus storage work.

Creates a study (TaylorGLO, population K, budget K; ``--method epbt``: EPBT's generation 0 of
K individuals, K / 2 elites, a segment of ``--steps`` steps) on ``--storage`` (a SQLite URL or a
journal file path), runs ``run_worker`` with ``population_batch=K`` (the generation trained as
one model stack where that is faster) and reports the wall time, the time spent training (inside the
objective) and the rest (claims, suggests, tells: the storage's share).

    python benchmarks/generation_e2e.py --storage sqlite:///g.db --task mnist-basic-cnn --k 28 \\
        --steps 2000 [--device cuda] [--data auto|real|random] [--method taylorglo] [--json F]

``--data random`` (or ``auto`` without the data set) trains on random tensors of the task's
shapes: the report says which.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

import optuna
from _random_data import task_data

from optuna_glo.objectives import device_name, get_task, resolve_device, train_trials
from optuna_glo.runtime.methods import make_objective
from optuna_glo.runtime.spec import StudySpec
from optuna_glo.runtime.study import create_study
from optuna_glo.runtime.worker import run_worker

SPEC = """
[study]
name = "generation"
method = "{method}"
task = "{task}"
n_trials = {k}
seed = 0

[{method}]
population_size = {k}

[training]
steps = {steps}
"""

#: EPBT counts its budget in generations: one generation of K fresh individuals.
EPBT_SPEC = """
[study]
name = "generation"
method = "epbt"
task = "{task}"
generations = 1
seed = 0

[epbt]
population_size = {k}
n_elites = {elites}
segment_steps = {steps}
"""


class TimedTraining:
    """The spec's objective, timing its batch trainings (the rest of the wall time is storage)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seconds = 0.0

    def __call__(self, trial: optuna.trial.Trial) -> float:
        start = time.perf_counter()
        try:
            return float(self.inner(trial))
        finally:
            self.seconds += time.perf_counter() - start

    def train_batch(self, trials: list[optuna.trial.Trial]) -> list[float]:
        start = time.perf_counter()
        try:
            if hasattr(self.inner, "train_trials"):  # EPBT's population objective
                return list(self.inner.train_trials(trials, population_batch=len(trials)))
            return train_trials(self.inner, trials)
        finally:
            self.seconds += time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--storage", required=True)
    parser.add_argument("--task", default="mnist-basic-cnn")
    parser.add_argument("--method", default="taylorglo")
    parser.add_argument("--k", type=int, default=28)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data", choices=("auto", "real", "random"), default="auto")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    template = EPBT_SPEC if args.method == "epbt" else SPEC
    spec = StudySpec.from_dict(tomllib.loads(template.format(
        method=args.method, task=args.task, k=args.k, steps=args.steps, elites=args.k // 2)))
    create_study(spec, args.storage)
    device = resolve_device(args.device)
    # EPBT's checkpoints go to a temporary directory, removed afterwards.
    checkpoints = tempfile.TemporaryDirectory()
    objective = make_objective(spec, device=str(device), artifact_dir=checkpoints.name)
    splits, source = task_data(get_task(args.task), args.data)
    # The objective's data, loaded once (random or real); EPBT's is its segment trainer's.
    getattr(objective, "trainer", objective)._data = splits.to(device)
    timed = TimedTraining(objective)
    start = time.perf_counter()
    summary = run_worker("generation", args.storage, progress=False, objective=timed,
                         population_batch=args.k, handle_signals=False)
    wall = time.perf_counter() - start
    report = {
        "storage": args.storage, "task": args.task, "k": args.k, "steps": args.steps,
        "device": device_name(device), "data": source, "trials": summary.n_trials,
        "wall_s": wall, "training_s": timed.seconds, "storage_s": wall - timed.seconds,
        "storage_share": (wall - timed.seconds) / wall,
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    print(f"generation k={args.k}: wall {wall:.1f} s, training {timed.seconds:.1f} s, "
          f"storage and sampling {wall - timed.seconds:.1f} s on {report['device']}")


if __name__ == "__main__":
    main()
