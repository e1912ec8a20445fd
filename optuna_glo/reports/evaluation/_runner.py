"""Training the runs of an evaluation: each job once, skipping those the results file holds;
runs of one seed and rate train together as one model stack where that is faster."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from optuna_glo.objectives import (
    DIVERGED_FITNESS,
    PathName,
    Splits,
    Task,
    TrainResult,
    resolve_device,
    train,
    train_candidates,
)
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
        population_batch: int = 1,
        path: PathName = "auto",
        data_dir: str | None = None,
    ) -> None:
        self.task, self.steps, self.portion = task, steps, portion
        self.device = resolve_device(device)
        self.data = data.to(self.device)
        self.eval_every = eval_every
        self.results = results
        self.progress = progress
        self.population_batch, self.path = population_batch, path
        self.data_dir = data_dir  # where train_candidates keeps its speed measurements
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
        """Train every job without a stored result; return the records of all jobs.

        Jobs of one seed, length, purpose and learning rate train together, up to
        ``population_batch`` at a time (:func:`~optuna_glo.objectives.train_candidates`: one
        model stack where the device measured it faster); each record is appended when its
        group ends.
        """
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
            for group in self._groups(pending):
                c, job = group[0].candidate, group[0]
                names = ", ".join(j.candidate.label for j in group)
                bar.set_postfix_str(f"{names} (lr {c.lr:g}), seed {job.seed}", refresh=False)
                for record in self._train(group, bar.update):
                    self.results.append(record)
                    self.trained += 1
        finally:
            bar.close()
        return {k: r for k in unique if (r := self.results.get(k)) is not None}

    def _groups(self, jobs: Sequence[Job]) -> list[list[Job]]:
        """``jobs`` in groups that can train together, in the order of their first job (jobs of
        one seed are given together, so seed ``r`` still trains before seed ``r + 1``)."""
        groups: dict[tuple[int, int, str, float], list[list[Job]]] = {}
        for job in jobs:
            chunks = groups.setdefault((job.seed, job.steps, job.purpose, job.candidate.lr), [[]])
            if len(chunks[-1]) == self.population_batch:
                chunks.append([])
            chunks[-1].append(job)
        return [chunk for chunks in groups.values() for chunk in chunks]

    def _train(
        self, group: Sequence[Job], advance: Callable[[int], object]
    ) -> list[dict[str, Any]]:
        job, c = group[0], group[0].candidate
        task = self.task.with_recipe(lr=c.lr) if c.lr != self.task.recipe.lr else self.task
        done = 0

        def on_step(step: int) -> None:
            nonlocal done
            advance(len(group) * (step - done))
            done = step

        options: dict[str, Any] = {
            "steps": job.steps, "device": self.device, "data": self.data,
            "eval_every": self.eval_every if job.purpose == "evaluation" else None,
            "eval_on": "test", "evaluate_test": True, "on_step": on_step,
        }
        if len(group) == 1:
            results = [train(task, c.loss, seed=job.seed, **options)]
        else:
            results = train_candidates(
                task, [j.candidate.loss for j in group], [job.seed] * len(group),
                population_batch=self.population_batch, path=self.path, data_dir=self.data_dir,
                **options,
            )
        advance(len(group) * (job.steps - done))  # a diverged run stops early
        return [self._record(j, r) for j, r in zip(group, results, strict=True)]

    def _record(self, job: Job, result: TrainResult) -> dict[str, Any]:
        c = job.candidate
        test = DIVERGED_FITNESS if result.diverged else result.test_accuracy
        return {
            "key": job.key, "purpose": job.purpose, "task": self.task.name, "loss": c.label,
            "formula": c.formula, "lr": c.lr, "seed": job.seed, "steps": job.steps,
            "data_portion": self.portion, "val_accuracy": result.value,
            "test_accuracy": test, "diverged": result.diverged,
            "curve": [list(p) for p in result.curve], "seconds": round(result.seconds, 3),
        }
