"""Overhead of the workers' loss-shape artifacts and study note, on the quickstart study.

    .venv/bin/python benchmarks/artifact_overhead.py [--trials 12]

Runs the quickstart spec's worker on fresh SQLite studies, without and with the hooks, and
prints the time spent inside the hooks per trial next to the time per trial. The hooks' own
time is the reliable number on a shared machine; the wall-clock difference (runs alternate, to
spread the load of other jobs evenly) is shown too.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import optuna

from optuna_glo.reports.dashboard import LossShapeArtifacts
from optuna_glo.runtime.spec import load_spec
from optuna_glo.runtime.study import create_study
from optuna_glo.runtime.worker import run_worker

SPEC = Path(__file__).resolve().parents[1] / "studies" / "quickstart.toml"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=2, help="alternating runs of each kind")
    args = parser.parse_args()
    spec = load_spec(SPEC)
    with tempfile.TemporaryDirectory() as tmp:
        wall: dict[bool, list[float]] = {False: [], True: []}
        hook_times: list[float] = []
        for k, with_hooks in enumerate([False, True] * args.rounds):
            url = f"sqlite:///{tmp}/{k}.db"
            create_study(spec, url)
            hooks = LossShapeArtifacts(Path(tmp) / "artifacts")

            def before(study: optuna.Study, trial: optuna.Trial, h=hooks) -> None:
                start = time.perf_counter()
                h.before_tell(study, trial)
                hook_times.append(time.perf_counter() - start)

            def after(study: optuna.Study, trial: optuna.trial.FrozenTrial, h=hooks) -> None:
                start = time.perf_counter()
                h.after_tell(study, trial)
                hook_times[-1] += time.perf_counter() - start

            kwargs = {"before_tell": [before], "callbacks": [after]} if with_hooks else {}
            start = time.perf_counter()
            run_worker(spec.name, url, n_trials=args.trials, device="cpu", progress=False,
                       heartbeat_interval=None, **kwargs)
            wall[with_hooks].append((time.perf_counter() - start) / args.trials)
            hooks.close()
        without, with_ = statistics.mean(wall[False]), statistics.mean(wall[True])
        per_trial = statistics.mean(hook_times)
        print(f"{args.rounds} x {args.trials} quickstart trials each way, alternating "
              "(digits-mlp, 300 steps per trial)")
        print(f"without artifacts: {without:.3f} s/trial "
              f"({', '.join(f'{w:.3f}' for w in wall[False])})")
        print(f"with artifacts:    {with_:.3f} s/trial "
              f"({', '.join(f'{w:.3f}' for w in wall[True])}); wall-clock difference "
              f"{100 * (with_ - without) / without:+.1f}% (noisy on a shared machine)")
        print(f"time inside the hooks: mean {per_trial * 1000:.1f} ms/trial "
              f"(median {statistics.median(hook_times) * 1000:.1f} ms, first "
              f"{hook_times[0] * 1000:.0f} ms) = {100 * per_trial / without:.1f}% of a trial")


if __name__ == "__main__":
    main()
