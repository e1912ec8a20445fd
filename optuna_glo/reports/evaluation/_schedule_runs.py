"""Retraining an EPBT or PBT individual's schedule from scratch, over fresh seeds.

An individual of a population-based run was trained segment by segment, each segment with its own
hyperparameters (EPBT section 5 reads the result as a loss *schedule*). To judge the schedule
rather than one lucky run, it is retrained from fresh weights: segment ``i`` of the lineage
trains with that segment's loss (and, for PBT over SGD, its learning rate and momentum) at its
generation's place in the learning-rate schedule, as in the run
(:class:`~optuna_glo.objectives.SegmentTrainer`), starting from the weights and optimizer state
segment ``i - 1`` ended with. Test accuracy is recorded after every segment (the schedule's
training curve, by steps trained).

Every retraining appends one line to the evaluation's results file, so a rerun resumes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from torch import nn

from optuna_glo.objectives import (
    DIVERGED_FITNESS,
    SEED_STRIDE,
    SegmentMember,
    SegmentStart,
    SegmentTrainer,
    Task,
    train_segments,
)
from optuna_glo.reports.evaluation._results import ResultsFile, run_key
from optuna_glo.reports.evaluation._rows import loss_identity
from optuna_glo.reports.schedule import best_individual, lineage_schedule

if TYPE_CHECKING:
    import optuna

    from optuna_glo.runtime.spec import StudySpec


@dataclass(frozen=True)
class ScheduleSegment:
    """One segment of a schedule: the generation it trained in and what it trained with.

    Attributes:
        generation: Its generation (its place in the learning-rate schedule).
        loss: Its loss.
        task: Its own task (PBT over SGD: its learning rate and momentum), or ``None``.
    """

    generation: int
    loss: nn.Module
    task: Task | None = None

    @property
    def identity(self) -> str:
        form = getattr(self.loss, "form", None)
        recipe = None if self.task is None else repr(self.task.recipe)
        return json.dumps([self.generation, loss_identity(self.loss), form, recipe])


@dataclass(frozen=True)
class Schedule:
    """An individual's schedule, with the segment trainer of its study.

    Attributes:
        label: The table's name for it (``"EPBT schedule (trial 43)"``).
        segments: Its segments, oldest first.
        trainer: The study's task, data, segment length and learning-rate schedule.
    """

    label: str
    segments: list[ScheduleSegment]
    trainer: SegmentTrainer

    @property
    def epochs_per_segment(self) -> float:
        return self.trainer.segment_steps / self.trainer.steps_per_epoch

    @property
    def epochs(self) -> float:
        """Epochs the schedule trains."""
        return len(self.segments) * self.epochs_per_segment

    @property
    def identity(self) -> str:
        return json.dumps([
            "schedule", self.trainer.segment_steps, [s.identity for s in self.segments]
        ])

    def key(self, seed: int) -> str:
        steps = len(self.segments) * self.trainer.segment_steps
        task = self.trainer.task
        return run_key(task.name, self.identity, task.recipe.lr, seed, steps, 1.0)


def best_schedule(
    study: optuna.Study,
    spec: StudySpec,
    trainer: SegmentTrainer,
    label: str,
) -> Schedule:
    """The schedule of ``study``'s best individual (:func:`~optuna_glo.reports.schedule.
    lineage_schedule`), each segment's loss rebuilt from its trial's params as the run built it.

    Raises:
        ValueError: The study has no completed trial, or a stored lineage or param is unreadable.
    """
    from optuna_glo.runtime.methods import population_member

    best = best_individual(study)
    if best is None:
        raise ValueError(
            f"Study {study.study_name!r} has no completed trial, so it has no schedule to "
            "evaluate: run a worker first (optuna-glo launch or run)."
        )
    by_number = {t.number: t for t in study.get_trials(deepcopy=False)}
    segments = []
    for segment in lineage_schedule(study, best):
        if segment.generation is None:
            raise ValueError(f"Trial {segment.trial} of the best lineage has no generation.")
        loss, own_task = population_member(spec, trainer.task, by_number[segment.trial])
        segments.append(ScheduleSegment(segment.generation, loss, own_task))
    return Schedule(f"{label} (trial {best.number})", segments, trainer)


def retrain_schedules(
    schedules: Sequence[Schedule],
    seeds: Sequence[int],
    results: ResultsFile,
    *,
    progress: bool = True,
) -> tuple[dict[str, dict[str, Any]], int]:
    """Retrain each schedule once per seed, seed ``r`` of every schedule before seed ``r + 1``;
    runs the results file holds are not retrained.

    Returns:
        The records by :meth:`Schedule.key`, and how many were trained now.
    """
    from tqdm.auto import tqdm

    jobs = [(s, seed) for seed in seeds for s in schedules]
    pending = [(s, seed) for s, seed in jobs if results.get(s.key(seed)) is None]
    bar = tqdm(
        total=sum(len(s.segments) for s, _ in pending), desc="schedules", unit="segment",
        disable=not progress, dynamic_ncols=True,
    )
    try:
        for schedule, seed in pending:
            bar.set_postfix_str(f"{schedule.label}, seed {seed}", refresh=False)
            results.append(_retrain(schedule, seed, bar.update))
    finally:
        bar.close()
    records = {k: r for s, seed in jobs if (r := results.get(k := s.key(seed))) is not None}
    return records, len(pending)


def _retrain(schedule: Schedule, seed: int, advance: Any) -> dict[str, Any]:
    """One retraining: fresh weights from ``seed`` (the weights ``train`` starts from with that
    seed), then every segment from the state the previous one ended with."""
    trainer = schedule.trainer
    start: SegmentStart | None = None
    curve: list[list[float]] = []
    diverged = 0
    test = DIVERGED_FITNESS
    for i, segment in enumerate(schedule.segments):
        member = SegmentMember(segment.loss, seed + SEED_STRIDE * i, start, segment.task)
        [outcome] = train_segments(
            trainer.task, [member], trainer.data,
            start_step=trainer.start_step(segment.generation), steps=trainer.segment_steps,
            data_seed=seed + SEED_STRIDE * (i + 1), device=trainer.device, path="sequential",
        )
        result = outcome.result
        diverged += bool(result.diverged)
        test = (
            DIVERGED_FITNESS if result.diverged or result.test_accuracy is None
            else float(result.test_accuracy)
        )
        curve.append([(i + 1) * trainer.segment_steps, test])  # steps trained, test accuracy
        start = SegmentStart(outcome.model, outcome.optimizer)
        advance(1)
    return {
        "key": schedule.key(seed), "purpose": "schedule", "task": trainer.task.name,
        "loss": schedule.label, "seed": seed, "segments": len(schedule.segments),
        "segment_steps": trainer.segment_steps, "test_accuracy": test, "diverged": diverged,
        "curve": curve,
    }
