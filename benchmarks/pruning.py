"""What an Optuna pruner saves on a loss search, and what it costs in the loss found.

    python benchmarks/pruning.py [--spec studies/quickstart.toml] [--seeds 0 1]
        [--generations G] [--variants none median] [--out FILE]

Runs ``optuna-glo run SPEC`` (a fresh SQLite study in a temporary directory, ``--no-artifacts``,
CPU) once per variant and seed: without a pruner, and with ``[pruner] type = "median"``
(Optuna's MedianPruner with its defaults). ``--generations`` shortens the spec's budget. Both
report validation accuracy at the spec's
checkpoints (``[training] eval_every``, default ten per run). Prints one JSON line per run:
whether the budget was reached, wall seconds, finished trials, pruned trials, training steps run
(the ``steps`` user attr summed over finished trials) against those trials' full length, the
best value, and the best trial's theta.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

VARIANTS: dict[str, dict[str, Any]] = {"none": {}, "median": {"type": "median"}}


def to_toml(data: dict[str, dict[str, Any]]) -> str:
    """A spec's tables (flat keys of str, int, float, bool) as TOML."""
    lines = []
    for table, values in data.items():
        lines.append(f"[{table}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def run_one(
    spec: dict[str, Any], variant: str, seed: int, workdir: Path, generations: int | None
) -> dict[str, Any]:
    spec = {table: dict(values) for table, values in spec.items()}
    spec["study"].update(name=f"{spec['study']['name']}-{variant}-{seed}", seed=seed)
    if generations is not None:
        spec["study"]["generations"] = generations
    if VARIANTS[variant]:
        spec["pruner"] = VARIANTS[variant]
    path = workdir / f"{variant}-{seed}.toml"
    path.write_text(to_toml(spec))
    storage = f"sqlite:///{workdir / f'{variant}-{seed}.db'}"
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "optuna_glo", "run", str(path), "--storage", storage,
         "--no-progress", "--no-artifacts", "--device", "cpu"],
        check=True, capture_output=True, text=True,
    )
    seconds = time.perf_counter() - start
    study = optuna.load_study(study_name=spec["study"]["name"], storage=storage)
    trials = study.trials
    finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    budget = spec["study"]["generations"] * spec["taylorglo"]["population_size"]
    return {
        "variant": variant,
        "seed": seed,
        # False when the run was stopped (SIGTERM: the worker gives its trial back, exits 0).
        "budget_reached": len(finished) >= budget,
        "wall_seconds": round(seconds, 1),
        "trials": len(finished),
        "pruned": sum(t.state == TrialState.PRUNED for t in trials),
        "steps_trained": sum(int(t.user_attrs.get("steps", 0)) for t in finished),
        "steps_full": len(finished) * int(spec["training"]["steps"]),
        "best_value": study.best_value,
        "best_trial": study.best_trial.number,
        "best_params": {k: round(v, 3) for k, v in study.best_trial.params.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spec", default="studies/quickstart.toml")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--generations", type=int, help="instead of the spec's generations")
    parser.add_argument("--out", type=Path, help="also write the JSON lines here")
    args = parser.parse_args()
    spec = tomllib.loads(Path(args.spec).read_text())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            for variant in args.variants:
                row = run_one(spec, variant, seed, Path(tmp), args.generations)
                rows.append(row)
                print(json.dumps(row), flush=True)
    if args.out is not None:
        args.out.write_text("".join(json.dumps(row) + "\n" for row in rows))


if __name__ == "__main__":
    main()
