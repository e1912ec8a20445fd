"""Creating and loading optuna-glo studies: an Optuna study with its spec in the user attrs."""

from __future__ import annotations

import json
import warnings
from typing import Any

import optuna

from optuna_glo.keys import SPEC_ATTR
from optuna_glo.objectives import get_task
from optuna_glo.runtime._spec_ranges import check_study_name
from optuna_glo.runtime.methods import make_sampler, spec_task
from optuna_glo.runtime.spec import EvaluateSettings, SpecError, StudySpec, spec_from_json
from optuna_glo.runtime.spec_population import EPBTSettings, PBTSettings
from optuna_glo.runtime.storage import open_storage, redact

#: How many existing study names a "no study named" error lists.
_LISTED_NAMES = 20


class StudyError(RuntimeError):
    """A study that does not exist, or exists with another spec."""


def validate_spec(spec: StudySpec) -> None:
    """Check what the spec refers to: the task exists, the sampler settings are valid."""
    try:
        task = get_task(spec.study.task)
        make_sampler(spec)
    except ValueError as err:
        raise SpecError(f"Spec {spec.name!r}: {err}") from None
    abort, steps = spec.training.abort_retry, task.recipe.partial_steps
    if abort is not None and spec.training.steps is None and abort.check_step >= steps:
        raise SpecError(
            f"Spec {spec.name!r}: [training.abort_retry] check_step must be less than the steps "
            f"of task {spec.study.task!r} ({steps}). The specified value is {abort.check_step}."
        )


def create_study(spec: StudySpec, storage_url: str) -> optuna.Study:
    """Create the spec's study (maximising validation accuracy) and store the spec in it.

    Creating the same study again is harmless; a different spec under an existing name is
    refused, and the stored study is left as it was.
    """
    validate_spec(spec)
    storage = open_storage(storage_url)
    study = optuna.create_study(
        study_name=spec.name, storage=storage, direction="maximize", load_if_exists=True,
        pruner=spec.pruner.make(),
    )
    stored = study.user_attrs.get(SPEC_ATTR)
    if stored is None:
        study.set_user_attr(SPEC_ATTR, spec.to_json())
    elif spec_from_json(stored).to_dict() != spec.to_dict():  # defaults added since: equal
        changed = _diff(json.loads(stored), spec.to_dict())
        raise StudyError(
            f"Study {spec.name!r} already exists in {redact(storage_url)} with a different spec "
            f"({changed}). Give the new spec another [study] name, or delete the old study with "
            f"`optuna delete-study --study-name {spec.name} --storage URL`."
        )
    with warnings.catch_warnings():  # experimental since Optuna 3.2, stable in use since
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names([metric_name(spec)])  # optuna-dashboard's axis label
    return study


def metric_name(spec: StudySpec) -> str:
    """What a trial's value measures: validation accuracy, or an ``evaluate`` study's split's."""
    settings = spec.method_settings
    split = settings.split if isinstance(settings, EvaluateSettings) else "val"
    return "test accuracy" if split == "test" else "validation accuracy"


def _diff(old: dict[str, Any], new: dict[str, Any]) -> str:
    changes = []
    for table in sorted(set(old) | set(new)):
        o, n = old.get(table, {}), new.get(table, {})
        for key in sorted(set(o) | set(n)):
            if o.get(key) != n.get(key):
                changes.append(f"[{table}] {key}: stored {o.get(key)!r}, new {n.get(key)!r}")
    return "; ".join(changes) or "different tables"


def load_study(
    study_name: str,
    storage_url: str,
    *,
    with_sampler: bool = True,
    storage: optuna.storages.BaseStorage | None = None,
    **storage_options: Any,
) -> tuple[optuna.Study, StudySpec]:
    """Load an optuna-glo study and its spec, with the spec's sampler and pruner attached.

    ``storage`` is the storage of ``storage_url``, if the caller opened it already; otherwise
    it is opened with ``storage_options`` (see :func:`~optuna_glo.runtime.storage.open_storage`:
    pool size, heartbeats).
    """
    try:
        check_study_name(study_name)
    except ValueError as err:  # no storage holds such a name (PostgreSQL refuses NUL in queries)
        raise StudyError(f"No study named {study_name!r}: {err}") from None
    if storage is None:
        storage = open_storage(storage_url, **storage_options)
    try:
        study = optuna.load_study(study_name=study_name, storage=storage)
    except KeyError:
        names = sorted(s.study_name for s in optuna.get_all_study_summaries(storage))
        # Stored names are quoted with repr (escapes visible, never sent to a terminal as they
        # are), and only the first few are listed.
        known = ", ".join(repr(name[:100]) for name in names[:_LISTED_NAMES]) or "none"
        if len(names) > _LISTED_NAMES:
            known += f" and {len(names) - _LISTED_NAMES} more"
        raise StudyError(
            f"No study named {study_name!r} in {redact(storage_url)}. Studies there: {known}. "
            "Create one with `optuna-glo create-study SPEC --storage URL`."
        ) from None
    stored = study.user_attrs.get(SPEC_ATTR)
    if stored is None:
        raise StudyError(
            f"Study {study_name!r} has no optuna-glo spec: it was not made by "
            "`optuna-glo create-study`."
        )
    spec = spec_from_json(stored)
    if with_sampler:
        study = optuna.load_study(
            study_name=study_name, storage=storage, sampler=make_sampler(spec),
            pruner=spec.pruner.make(),
        )
    return study, spec


def measure_baseline(
    spec: StudySpec,
    *,
    device: str | None = None,
    data_dir: str | None = None,
    download: bool = False,
) -> dict[str, Any]:
    """Train standard cross-entropy exactly as a candidate of ``spec`` is trained.

    Same task, learning rate, steps and seed (with common random numbers: the same initial
    weights and batches as every candidate), so the difference to the best candidate is the
    loss alone. For EPBT and PBT: one model trained for the population's total steps
    (generations x segment), with its test accuracy.
    """
    from optuna_glo.losses import CrossEntropy
    from optuna_glo.objectives import SegmentTrainer, train, training_seed

    task = spec_task(spec)
    steps = spec.training.steps or task.recipe.partial_steps
    seed = training_seed(spec.study.seed, 0, "study")
    population = spec.method_settings
    data = None
    if isinstance(population, (EPBTSettings, PBTSettings)):
        # EPBT section 4.1's Baseline 1: cross-entropy trained alone for the population's total
        # epochs, under the task's whole schedule.
        assert spec.study.generations is not None
        trainer = SegmentTrainer(
            task, segment_epochs=population.segment_epochs,
            segment_steps=population.segment_steps, device=device, data_dir=data_dir,
            download=download,
        )
        data, steps = trainer.data, spec.study.generations * trainer.segment_steps
    result = train(
        task, CrossEntropy(), steps=steps, seed=seed, device=device, data_dir=data_dir,
        download=download, data=data, evaluate_test=data is not None,
    )
    out = {
        "loss": "cross_entropy",
        "value": result.value,
        "lr": task.recipe.lr,
        "steps": steps,
        "seed": seed,
        "diverged": result.diverged,
    }
    if result.test_accuracy is not None:
        out["test_accuracy"] = result.test_accuracy
    return out
