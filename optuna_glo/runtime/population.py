"""The objective of EPBT and PBT studies: a trial trains its individual for one segment.

A trial of :class:`~optuna_glo.samplers.pbt.EPBTSampler` or
:class:`~optuna_glo.samplers.pbt.PBTSampler` starts from the checkpoint of the trial
:func:`~optuna_glo.samplers.pbt.parent_of` names (weights, optimizer state and age, checked
against that trial's params; fresh weights in generation 0), trains one segment at its place in
the learning-rate schedule (generation g starts at ``g`` segments: EPBT section 4.1), and its
value is the validation accuracy after the segment (EPBT section 3.1's fitness); the test accuracy
is recorded for reporting only. Its own checkpoint is uploaded as an artifact before the trial is
told, and the checkpoints of trials that can no longer be parents are deleted as each trial
starts (:func:`~optuna_glo.runtime.checkpoints.collect_garbage`).

A re-run of a trial (a worker died or gave it back) copies its system attributes, so it has the
same generation, parent and params, and trains the same segment from the same checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import optuna
from torch import nn

from optuna_glo.objectives import (
    PathName,
    SegmentMember,
    SegmentStart,
    SegmentTrainer,
    Task,
    record_result,
)
from optuna_glo.runtime.artifacts import artifact_store, study_artifact_dir
from optuna_glo.runtime.checkpoints import (
    Checkpoint,
    collect_garbage,
    load_checkpoint,
    numeric_params,
    save_checkpoint,
)
from optuna_glo.samplers.pbt import generation_of, lineage_of, parent_of

#: Turns a trial into its individual's loss and, where its hyperparameters are the optimizer's
#: (PBT over SGD), its own task; ``None``: the study's task.
SuggestMember = Callable[[optuna.trial.BaseTrial], tuple[nn.Module, Task | None]]


class PopulationObjective:
    """One training segment per trial, weights inherited through checkpoint artifacts.

    Args:
        trainer: The task, its data and the segment length.
        suggest_member: The trial's loss (and task) from its params.
        artifact_dir: Where checkpoints go; default beside the study's storage (a SQLite
            ``study.db`` -> ``study-artifacts/``). Workers on several machines need one shared
            directory.
        path: How a batch of trials trains: ``"auto"`` (a model stack where measured faster),
            ``"vectorized"`` or ``"sequential"``.
    """

    def __init__(
        self,
        trainer: SegmentTrainer,
        suggest_member: SuggestMember,
        *,
        artifact_dir: str | Path | None = None,
        path: PathName = "auto",
    ) -> None:
        self.trainer = trainer
        self.suggest_member = suggest_member
        self.artifact_dir = artifact_dir
        self.path: PathName = path
        self._collected: set[int] = set()

    @property
    def task(self) -> Task:
        """The study's task."""
        return self.trainer.task

    def __call__(self, trial: optuna.trial.Trial) -> float:
        [value] = self.train_trials([trial])
        return value

    def train_trials(
        self, trials: Sequence[optuna.trial.Trial], *, population_batch: int | None = None
    ) -> list[float]:
        """The values of ``trials`` (children of one or more generations), trained together
        where they share a generation: one model stack from their parents' state dicts."""
        if not trials:
            return []
        study = trials[0].study
        store = artifact_store(study_artifact_dir(study, self.artifact_dir))
        self.collect_garbage(study, store)
        by_generation: dict[int, list[int]] = {}
        for i, trial in enumerate(trials):
            generation = generation_of(trial)
            if generation is None:
                raise ValueError(
                    f"Trial {trial.number} has no generation: a population objective needs "
                    "EPBTSampler or PBTSampler as the study's sampler."
                )
            by_generation.setdefault(generation, []).append(i)
        values = [0.0] * len(trials)
        for generation, indices in sorted(by_generation.items()):
            group = [trials[i] for i in indices]
            out = self._train(study, store, group, generation, population_batch)
            for i, value in zip(indices, out, strict=True):
                values[i] = value
        return values

    def collect_garbage(self, study: optuna.Study, store: Any) -> list[int]:
        """Delete the checkpoints no trial can inherit any more (the sampler says which can)."""
        alive = getattr(study.sampler, "individuals_alive", None)
        if alive is None:
            return []
        return collect_garbage(study, store, alive(study), self._collected)

    def _train(
        self,
        study: optuna.Study,
        store: Any,
        trials: list[optuna.trial.Trial],
        generation: int,
        population_batch: int | None,
    ) -> list[float]:
        members, parents = [], []
        for trial in trials:
            loss, task = self.suggest_member(trial)
            parent = parent_of(study, trial)
            lineage = lineage_of(study, trial)
            inherited = None
            if parent is not None:
                parent_trial = study._storage.get_trial(
                    study._storage.get_trial_id_from_study_id_trial_number(
                        study._study_id, parent
                    )
                )
                inherited = load_checkpoint(study, parent_trial, store)
            parents.append(inherited)
            start = None if inherited is None else SegmentStart(
                inherited.model, inherited.optimizer
            )
            lineage = trial.number if lineage is None else lineage
            seed = self.trainer.member_seed(lineage, generation)
            members.append(SegmentMember(loss, seed, start, task))
        outcomes = self.trainer.train(
            members, generation=generation, path=self.path, population_batch=population_batch
        )
        segment_epochs = self.trainer.segment_steps / self.trainer.steps_per_epoch
        values = []
        for trial, inherited, outcome in zip(trials, parents, outcomes, strict=True):
            result = outcome.result
            record_result(trial, result)
            epoch = (0.0 if inherited is None else inherited.epoch) + segment_epochs
            step = (0 if inherited is None else inherited.step) + self.trainer.segment_steps
            trial.set_user_attr("test_accuracy", result.test_accuracy)
            trial.set_user_attr("start_epoch", generation * segment_epochs)
            trial.set_user_attr("epochs_trained", epoch)
            trial.set_user_attr("start_weights_sha256", outcome.start_digest)
            trial.set_user_attr("weights_sha256", outcome.digest)
            save_checkpoint(trial, store, Checkpoint(
                outcome.model, outcome.optimizer, epoch, step, numeric_params(trial.params),
                trial.number,
            ))
            values.append(result.value)
        return values


def gc_checkpoints(study: optuna.Study, artifact_dir: str | Path | None = None) -> list[int]:
    """Delete the checkpoints of a study's trials that can no longer be a parent (for studies
    whose last generation closed with no trial left to start, and old studies).

    ``study`` must carry its EPBT or PBT sampler (``load_study``). Returns the numbers of the
    trials whose checkpoints were deleted.
    """
    alive = getattr(study.sampler, "individuals_alive", None)
    if alive is None:
        raise ValueError(
            f"Study {study.study_name!r} is not an EPBT or PBT study: it keeps no checkpoints."
        )
    store = artifact_store(study_artifact_dir(study, artifact_dir))
    return collect_garbage(study, store, alive(study))
