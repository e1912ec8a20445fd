"""EPBT against PBT and cross-entropy on the CPU quickstart task, over seeds (EPBT section 4.1).

    python benchmarks/population_quality.py [--seeds 0 1 2] [--runs epbt pbt pbt-sgd]
        [--batch 1 4] [--out FILE.jsonl] [--markdown FILE.md]

Each run is ``optuna-glo run`` of a copy of ``studies/epbt-quickstart.toml`` or
``studies/pbt-quickstart.toml`` (``pbt-sgd``: the PBT spec with ``space = "sgd"``, PBT over SGD's
learning rate and momentum with cross-entropy), with the seed changed, in a fresh SQLite study in
a temporary directory, ``--no-artifacts`` (checkpoints are written all the same), on the CPU.
``--batch`` sets ``[training] population_batch`` (1: one by one; the EPBT children of a
generation are p - k = 4): the batch worker against the one-by-one worker on the same seeds.

Per run: the best individual's validation and test accuracy (EPBT's fitness is the validation
accuracy after a segment; test accuracy is recorded for reporting only), cross-entropy trained
alone for the same total steps at the task's learning rate and schedule with the same seed (the
baseline ``run`` stores; EPBT section 4.1's Baseline 1), wall seconds of the command, and the
median seconds per generation (first trial's start to last trial's end of each generation).
Prints one JSON line per run and, with ``--markdown``, a table of means (sd) over seeds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import defaultdict
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState
from pruning import to_toml

from optuna_glo.keys import BASELINE_ATTR
from optuna_glo.reports.schedule import generation_of

REPO = Path(__file__).resolve().parents[1]
FrozenTrialTimes = tuple[Any, Any]  # (datetime_start, datetime_complete)
SPECS = {
    "epbt": ("studies/epbt-quickstart.toml", {}),
    "pbt": ("studies/pbt-quickstart.toml", {}),
    "pbt-sgd": ("studies/pbt-quickstart.toml", {"pbt": {"space": "sgd"}}),
}


def run_one(run: str, seed: int, batch: int, workdir: Path) -> dict[str, Any]:
    """One ``optuna-glo run``; what it found, its baseline and its times."""
    path, changes = SPECS[run]
    spec = tomllib.loads((REPO / path).read_text())
    for table, values in changes.items():
        spec[table].update(values)
    name = f"{run}-{seed}-b{batch}"
    spec["study"].update(name=name, seed=seed)
    spec.setdefault("training", {})["population_batch"] = batch
    spec_file = workdir / f"{name}.toml"
    spec_file.write_text(to_toml(spec))
    storage = f"sqlite:///{workdir / f'{name}.db'}"
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "optuna_glo", "run", str(spec_file), "--storage", storage,
         "--no-progress", "--no-artifacts", "--device", "cpu"],
        check=True, capture_output=True, text=True, cwd=REPO,
    )
    seconds = time.perf_counter() - start
    study = optuna.load_study(study_name=name, storage=storage)
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    best = study.best_trial
    baseline = study.user_attrs[BASELINE_ATTR]
    spans: dict[int, list[FrozenTrialTimes]] = defaultdict(list)
    for t in trials:
        generation = generation_of(t)
        if generation is not None and t.datetime_start and t.datetime_complete:
            spans[generation].append((t.datetime_start, t.datetime_complete))
    per_generation = [
        (max(end for _, end in s) - min(begin for begin, _ in s)).total_seconds()
        for s in spans.values()
    ]
    return {
        "run": run, "seed": seed, "batch": batch, "trials": len(trials),
        "best_trial": best.number, "best_generation": generation_of(best),
        "best_val": best.value, "best_test": best.user_attrs.get("test_accuracy"),
        "ce_val": baseline["value"], "ce_test": baseline.get("test_accuracy"),
        "ce_steps": baseline["steps"],
        "wall_seconds": round(seconds, 1),
        "generation_seconds_median": round(statistics.median(per_generation), 3),
    }


def _mean_sd(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:.4f}" if values else "-"
    return f"{statistics.mean(values):.4f} ({statistics.stdev(values):.4f})"


def markdown(rows: list[dict[str, Any]]) -> str:
    """Means (sd) over seeds per run and batch."""
    groups: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[(row["run"], row["batch"])].append(row)
    lines = [
        "| run | population_batch | seeds | best val. | its test | cross-entropy val. | "
        "cross-entropy test | s per generation (median) | wall s (mean) |",
        "|---|---:|---:|---|---|---|---|---:|---:|",
    ]
    for (run, batch), group in sorted(groups.items()):
        col = {k: [float(r[k]) for r in group if r[k] is not None] for k in
               ("best_val", "best_test", "ce_val", "ce_test")}
        gen = statistics.median(r["generation_seconds_median"] for r in group)
        wall = statistics.mean(r["wall_seconds"] for r in group)
        lines.append(
            f"| {run} | {batch} | {len(group)} | {_mean_sd(col['best_val'])} | "
            f"{_mean_sd(col['best_test'])} | {_mean_sd(col['ce_val'])} | "
            f"{_mean_sd(col['ce_test'])} | {gen:.2f} | {wall:.0f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--runs", nargs="+", default=list(SPECS), choices=list(SPECS))
    parser.add_argument("--batch", type=int, nargs="+", default=[1])
    parser.add_argument("--out", type=Path, help="also write the JSON lines here")
    parser.add_argument("--markdown", type=Path, help="write the table of means here")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:  # seeds outermost: an interrupted run stays balanced
            for run in args.runs:
                for batch in args.batch:
                    row = run_one(run, seed, batch, Path(tmp))
                    rows.append(row)
                    print(json.dumps(row), flush=True)
                    if args.out is not None:
                        with args.out.open("a") as f:
                            f.write(json.dumps(row) + "\n")
    if args.markdown is not None:
        args.markdown.write_text(markdown(rows))
    print(markdown(rows))


if __name__ == "__main__":
    main()
