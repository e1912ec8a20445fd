"""Loss-search methods: how a study spec becomes a sampler and a trial becomes a loss.

A method is the pair the worker needs: a sampler built from the spec, and a function that turns a
trial into its candidate loss. Add a method by registering a :class:`Method` under the name used
in ``[study] method`` and its settings dataclass in ``spec.METHOD_SETTINGS``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import optuna
from torch import nn

from optuna_glo.keys import (
    CMA_GENERATION_KEY,
    GP_GENERATION_KEY,
    SGD_LR_PARAM,
    SGD_MOMENTUM_PARAM,
)
from optuna_glo.losses import CrossEntropy, TaylorGLOLoss, get_loss, invariant_violation
from optuna_glo.objectives import (
    AbortRule,
    FixedLossObjective,
    GenerationOf,
    LossSearchObjective,
    SegmentTrainer,
    SuggestLoss,
    Task,
    UntrainableReason,
    get_task,
)
from optuna_glo.runtime.population import PopulationObjective, SuggestMember
from optuna_glo.runtime.spec import EvaluateSettings, GLOSettings, StudySpec, TaylorGLOSettings
from optuna_glo.runtime.spec_population import EPBTSettings, PBTSettings
from optuna_glo.samplers import (
    ComparisonGridSampler,
    GeneticProgrammingSampler,
    GLOSampler,
    taylorglo_sampler,
)
from optuna_glo.samplers.gp import trial_system_attrs
from optuna_glo.samplers.pbt import (
    PBT_TAYLOR_INIT,
    SGD_LR_BOUNDS,
    SGD_MOMENTUM_BOUNDS,
    EPBTSampler,
    PBTSampler,
    sgd_space,
    taylor_space,
)
from optuna_glo.suggest._taylor import suggest_taylor_loss, suggest_taylor_lr
from optuna_glo.suggest._tree import suggest_glo_loss


@dataclass(frozen=True)
class Method:
    """A registered loss-search method.

    Attributes:
        make_sampler: The spec's sampler.
        make_suggest_loss: Turns a trial into its candidate loss, for the standard loss-search
            objective (partial training, validation accuracy).
        make_objective: A whole objective instead, for methods whose trials are not candidate
            losses of one partial-training length (``evaluate``, ``epbt``, ``pbt``), called as
            ``make_objective(spec, task, device, data_dir, download, artifact_dir)``.
        make_untrainable_reason: A check before training that gives candidates fitness 0
            untrained (``LossSearchObjective``'s ``untrainable_reason``), or ``None``.
    """

    make_sampler: Callable[[StudySpec], optuna.samplers.BaseSampler]
    make_suggest_loss: Callable[[StudySpec], SuggestLoss] | None = None
    make_objective: Callable[..., FixedLossObjective | PopulationObjective] | None = None
    make_untrainable_reason: Callable[[StudySpec], UntrainableReason | None] | None = None
    make_generation_of: Callable[[StudySpec], GenerationOf] | None = None


_SettingsT = TypeVar("_SettingsT")


def _settings(spec: StudySpec, cls: type[_SettingsT]) -> _SettingsT:
    """The spec's method table, checked to be of the method's settings class."""
    settings = spec.method_settings
    assert isinstance(settings, cls)
    return settings


def _taylorglo_sampler(spec: StudySpec) -> optuna.samplers.BaseSampler:
    s = _settings(spec, TaylorGLOSettings)
    return taylorglo_sampler(
        order=s.order, population_size=s.population_size, sigma0=s.sigma0,
        bounds=(-s.bound, s.bound), seed=spec.study.seed, search_lr=s.search_lr is not None,
    )


def _taylorglo_suggest(spec: StudySpec) -> SuggestLoss:
    s = _settings(spec, TaylorGLOSettings)

    def suggest(trial: optuna.trial.Trial) -> nn.Module:
        if s.search_lr is not None:  # the objective trains with the trial's rate
            suggest_taylor_lr(trial, s.search_lr.low, s.search_lr.high, bound=s.bound)
        return suggest_taylor_loss(trial, s.order, low=-s.bound, high=s.bound, form=s.form)

    return suggest


def _taylorglo_untrainable(spec: StudySpec) -> UntrainableReason | None:
    if not _settings(spec, TaylorGLOSettings).invariant_check:
        return None

    def reason(loss: nn.Module, n_classes: int) -> str | None:
        # The authors' released code skips such candidates at fitness 0 (losses._invariant).
        return invariant_violation(loss, n_classes) if isinstance(loss, TaylorGLOLoss) else None

    return reason


def _stored_generation(attrs: dict[str, object], key: str) -> int | None:
    """The generation under ``key``: only an int >= 0 (attrs come from a shared database)."""
    value = attrs.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _taylorglo_generation(spec: StudySpec) -> GenerationOf:
    return lambda trial: _stored_generation(trial_system_attrs(trial), CMA_GENERATION_KEY)


def _glo_generation(spec: StudySpec) -> GenerationOf:
    # Coefficient-phase generations (CMA-ES, numbered from 0) follow the discovery generations.
    offset = spec.study.generations or 0

    def generation(trial: optuna.trial.BaseTrial) -> int | None:
        attrs = trial_system_attrs(trial)
        gp = _stored_generation(attrs, GP_GENERATION_KEY)
        if gp is not None:
            return gp
        cma = _stored_generation(attrs, CMA_GENERATION_KEY)
        return None if cma is None else offset + cma

    return generation


def _glo_sampler(spec: StudySpec) -> optuna.samplers.BaseSampler:
    s = _settings(spec, GLOSettings)
    gp = GeneticProgrammingSampler(
        population_size=s.population_size, n_elites=s.n_elites, crossover_prob=s.crossover_prob,
        integer_mutation_prob=s.integer_mutation_prob,
        same_arity_mutation_prob=s.same_arity_mutation_prob,
        shrink_mutation_prob=s.shrink_mutation_prob, grow_mutation_prob=s.grow_mutation_prob,
        init_max_depth=s.init_max_depth, max_depth=s.max_depth, seed=spec.study.seed,
    )
    if s.coefficient_generations == 0:
        return gp
    if spec.study.generations is None:
        raise ValueError(
            "[glo] coefficient_generations needs [study] generations (the discovery phase's "
            "length), not n_trials."
        )
    return GLOSampler(
        discovery_generations=spec.study.generations, gp_sampler=gp,
        coefficient_population_size=s.coefficient_population_size,
        coefficient_sigma0=s.coefficient_sigma0,
        coefficient_bounds=(-s.coefficient_bound, s.coefficient_bound), seed=spec.study.seed,
    )


def _glo_suggest(spec: StudySpec) -> SuggestLoss:
    s = _settings(spec, GLOSettings)

    def suggest(trial: optuna.trial.Trial) -> nn.Module | None:
        # An untrainable tree gets fitness 0 untrained (GLO III-A); a cache hit its cached value.
        loss = suggest_glo_loss(
            trial, low=-s.coefficient_bound, high=s.coefficient_bound, untrainable="score"
        )
        return None if getattr(loss, "untrainable", None) else loss

    return suggest


def _evaluate_sampler(spec: StudySpec) -> optuna.samplers.BaseSampler:
    e = _settings(spec, EvaluateSettings)
    grid: dict[str, list[str | int]] = {
        "loss": list(e.losses), "steps": list(e.steps), "repeat": list(range(e.seeds)),
    }
    return ComparisonGridSampler(grid, seed=spec.study.seed)


def _evaluate_objective(
    spec: StudySpec,
    task: Task,
    device: str | None,
    data_dir: str | None,
    download: bool,
    artifact_dir: str | Path | None = None,  # fixed losses keep no checkpoints
) -> FixedLossObjective:
    e = _settings(spec, EvaluateSettings)
    for name in e.losses:
        get_loss(name)  # an unknown name fails here, listing the known ones
    return FixedLossObjective(
        task, {name: functools.partial(get_loss, name) for name in e.losses}, steps=e.steps,
        repeats=e.seeds, seed=spec.study.seed, split=e.split, device=device,
        data_dir=data_dir, download=download,
    )


def _epbt_sampler(spec: StudySpec) -> optuna.samplers.BaseSampler:
    s = _settings(spec, EPBTSettings)
    return EPBTSampler(
        population_size=s.population_size, n_elites=s.n_elites, tournament_size=s.tournament_size,
        mutation_sigma=s.mutation_sigma, reinit_prob=s.reinit_prob,
        crossover_prob=s.crossover_prob,
        space=taylor_space(order=s.order, bounds=(-s.bound, s.bound)), seed=spec.study.seed,
    )


def _pbt_sampler(spec: StudySpec) -> optuna.samplers.BaseSampler:
    s = _settings(spec, PBTSettings)
    space = (
        sgd_space() if s.space == "sgd"
        else taylor_space(order=s.order, bounds=(-s.bound, s.bound), init=PBT_TAYLOR_INIT)
    )
    return PBTSampler(
        population_size=s.population_size, truncation_fraction=s.truncation_fraction,
        perturbation_factors=s.perturbation_factors, resample_prob=s.resample_prob,
        space=space, seed=spec.study.seed,
    )


def _suggest_member(spec: StudySpec, task: Task) -> SuggestMember:
    """A trial's loss: TaylorGLO over the spec's bounds, or (PBT over SGD) cross-entropy with the
    trial's learning rate and momentum in its own recipe (PBT's values replace the schedule)."""
    s = spec.method_settings
    assert isinstance(s, (EPBTSettings, PBTSettings))
    if isinstance(s, PBTSettings) and s.space == "sgd":

        def sgd(trial: optuna.trial.BaseTrial) -> tuple[nn.Module, Task | None]:
            lr = trial.suggest_float(SGD_LR_PARAM, *SGD_LR_BOUNDS, log=True)
            momentum = trial.suggest_float(SGD_MOMENTUM_PARAM, *SGD_MOMENTUM_BOUNDS)
            own = task.with_recipe(lr=lr, momentum=momentum, optimizer="momentum", lr_milestones=())
            return CrossEntropy(), own

        return sgd

    def taylor(trial: optuna.trial.BaseTrial) -> tuple[nn.Module, Task | None]:
        return (
            suggest_taylor_loss(trial, s.order, low=-s.bound, high=s.bound, form=s.form),
            None,
        )

    return taylor


def population_member(
    spec: StudySpec, task: Task, trial: optuna.trial.FrozenTrial
) -> tuple[nn.Module, Task | None]:
    """The loss (and, for PBT over SGD, the own task) a stored EPBT or PBT trial trained with,
    rebuilt by the code that built it in the run, from its params.

    The params come from a storage: each must be a finite number inside the trial's recorded
    distribution, or this is a one-line ``ValueError`` naming the trial.
    """
    if spec.method not in ("epbt", "pbt"):
        raise ValueError(f"Study {spec.name!r} is a {spec.method} study, not EPBT or PBT.")
    for name, value in trial.params.items():
        dist = trial.distributions.get(name)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok and isinstance(dist, optuna.distributions.FloatDistribution):
            ok = dist.low <= value <= dist.high  # also refuses nan
        if not ok:
            raise ValueError(
                f"Trial {trial.number}'s parameter {name!r} is {str(value)[:40]!r}, outside its "
                "range: the storage holds a value optuna-glo did not write."
            )
    return _suggest_member(spec, task)(optuna.trial.FixedTrial(dict(trial.params)))


def _population_objective(
    spec: StudySpec,
    task: Task,
    device: str | None,
    data_dir: str | None,
    download: bool,
    artifact_dir: str | Path | None = None,
) -> PopulationObjective:
    s = spec.method_settings
    assert isinstance(s, (EPBTSettings, PBTSettings))
    trainer = SegmentTrainer(
        task, segment_epochs=s.segment_epochs, segment_steps=s.segment_steps,
        seed=spec.study.seed, device=device, data_dir=data_dir, download=download,
    )
    return PopulationObjective(trainer, _suggest_member(spec, task), artifact_dir=artifact_dir)


METHODS: dict[str, Method] = {
    "taylorglo": Method(
        _taylorglo_sampler, make_suggest_loss=_taylorglo_suggest,
        make_untrainable_reason=_taylorglo_untrainable, make_generation_of=_taylorglo_generation,
    ),
    "glo": Method(
        _glo_sampler, make_suggest_loss=_glo_suggest, make_generation_of=_glo_generation
    ),
    "evaluate": Method(_evaluate_sampler, make_objective=_evaluate_objective),
    "epbt": Method(_epbt_sampler, make_objective=_population_objective),
    "pbt": Method(_pbt_sampler, make_objective=_population_objective),
}


def make_sampler(spec: StudySpec) -> optuna.samplers.BaseSampler:
    """The spec's sampler (its state lives in the storage, so every worker shares one search)."""
    method = METHODS[spec.method]
    if spec.method == "evaluate":
        _evaluate_objective(spec, get_task(spec.study.task), None, None, False)  # check names
    return method.make_sampler(spec)


def spec_task(spec: StudySpec) -> Task:
    """The spec's task, with the spec's learning rate if it sets one."""
    task = get_task(spec.study.task)
    if spec.training.lr is not None:
        task = task.with_recipe(lr=spec.training.lr)
    return task


def make_objective(
    spec: StudySpec,
    *,
    device: str | None = None,
    data_dir: str | None = None,
    download: bool = False,
    artifact_dir: str | Path | None = None,
) -> LossSearchObjective | FixedLossObjective | PopulationObjective:
    """The spec's objective: its task, training settings and the method's loss per trial.

    ``artifact_dir`` is where EPBT and PBT keep their checkpoints (default: beside the study's
    storage).
    """
    task = spec_task(spec)
    method = METHODS[spec.method]
    if method.make_objective is not None:
        return method.make_objective(spec, task, device, data_dir, download, artifact_dir)
    assert method.make_suggest_loss is not None
    ar = spec.training.abort_retry
    abort_rule = AbortRule(**dataclasses.asdict(ar)) if ar is not None else None
    untrainable = method.make_untrainable_reason
    generation_of = method.make_generation_of
    return LossSearchObjective(
        task,
        method.make_suggest_loss(spec),
        steps=spec.training.steps,
        seed=spec.study.seed,
        common_random_numbers=spec.training.common_random_numbers,
        generation_of=generation_of(spec) if generation_of is not None else None,
        abort_rule=abort_rule,
        untrainable_reason=untrainable(spec) if untrainable is not None else None,
        eval_every=spec.training.eval_every,
        device=device,
        data_dir=data_dir,
        download=download,
    )
