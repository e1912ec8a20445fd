"""Training the runs of an evaluation: each job once, skipping those the results file holds."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from optuna_glo.objectives import DIVERGED_FITNESS, Splits, Task, resolve_device, train
from optuna_glo.reports.evaluation._results import ResultsFile, run_key
from optuna_glo.reports.evaluation._rows import Candidate


@dataclass(frozen=True)
class Job:
    """One training: a candidate at a seed for some steps, keyed for the results file."""

    key: str
    candidate: Candidate
    seed: int
    purpose: str  # "evaluation" or "lr search"
    steps: int


class Runner:
    """Trains jobs on one task and data portion, by default of one length; counts what it
    trained and reused."""

    def __init__(
        self,
        task: Task,
        data: Splits,
        *,
        steps: int,
        portion: float,
        device: str | None,
        eval_every: int | None,
        results: ResultsFile,
        progress: bool,
    ) -> None:
        self.task, self.steps, self.portion = task, steps, portion
        self.device = resolve_device(device)
        self.data = data.to(self.device)
        self.eval_every = eval_every
        self.results = results
        self.progress = progress
        self.trained = 0
        self.reused = 0

    def job(
        self, candidate: Candidate, seed: int, purpose: str, steps: int | None = None
    ) -> Job:
        """``candidate`` trained at ``seed`` for ``steps`` (default: the runner's length)."""
        steps = self.steps if steps is None else steps
        key = run_key(self.task.name, candidate.identity, candidate.lr, seed, steps, self.portion)
        return Job(key, candidate, seed, purpose, steps)

    def run(self, jobs: Sequence[Job], desc: str) -> dict[str, dict[str, Any]]:
        """Train every job without a stored result; return the records of all jobs."""
        from tqdm.auto import tqdm

        unique: dict[str, Job] = {}
        for job in jobs:
            unique.setdefault(job.key, job)
        pending = [j for j in unique.values() if self.results.get(j.key) is None]
        self.reused += len(unique) - len(pending)
        bar = tqdm(
            total=sum(j.steps for j in pending), desc=desc, unit="step", disable=not self.progress,
            dynamic_ncols=True, smoothing=0.05,
        )
        try:
            for job in pending:
                c = job.candidate
                bar.set_postfix_str(f"{c.label} (lr {c.lr:g}), seed {job.seed}", refresh=False)
                self.results.append(self._train(job, bar.update))
                self.trained += 1
        finally:
            bar.close()
        return {k: r for k in unique if (r := self.results.get(k)) is not None}

    def _train(self, job: Job, advance: Callable[[int], object]) -> dict[str, Any]:
        c = job.candidate
        task = self.task.with_recipe(lr=c.lr) if c.lr != self.task.recipe.lr else self.task
        done = 0

        def on_step(step: int) -> None:
            nonlocal done
            advance(step - done)
            done = step

        result = train(
            task, c.loss, steps=job.steps, seed=job.seed, device=self.device, data=self.data,
            eval_every=self.eval_every if job.purpose == "evaluation" else None,
            eval_on="test", evaluate_test=True, on_step=on_step,
        )
        advance(job.steps - done)  # a diverged run stops early
        test = DIVERGED_FITNESS if result.diverged else result.test_accuracy
        return {
            "key": job.key, "purpose": job.purpose, "task": self.task.name, "loss": c.label,
            "formula": c.formula, "lr": c.lr, "seed": job.seed, "steps": job.steps,
            "data_portion": self.portion, "val_accuracy": result.value,
            "test_accuracy": test, "diverged": result.diverged,
            "curve": [list(p) for p in result.curve], "seconds": round(result.seconds, 3),
        }
