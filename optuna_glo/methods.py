"""Loss-search methods: how a study spec becomes a sampler and a trial becomes a loss.

A method is the pair the worker needs: a sampler built from the spec, and a function that turns a
trial into its candidate loss. Add a method by registering a :class:`Method` under the name used
in ``[study] method`` and its settings dataclass in ``spec.METHOD_SETTINGS``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import optuna

from optuna_glo._suggest import suggest_taylor_loss
from optuna_glo.objectives import AbortRule, LossSearchObjective, SuggestLoss, get_task
from optuna_glo.samplers import taylorglo_sampler
from optuna_glo.spec import StudySpec, TaylorGLOSettings


@dataclass(frozen=True)
class Method:
    """A registered loss-search method."""

    make_sampler: Callable[[StudySpec], optuna.samplers.BaseSampler]
    make_suggest_loss: Callable[[StudySpec], SuggestLoss]


def _taylorglo_settings(spec: StudySpec) -> TaylorGLOSettings:
    settings = spec.method_settings
    assert isinstance(settings, TaylorGLOSettings)
    return settings


def _taylorglo_sampler(spec: StudySpec) -> optuna.samplers.BaseSampler:
    s = _taylorglo_settings(spec)
    return taylorglo_sampler(
        order=s.order, population_size=s.population_size, sigma0=s.sigma0,
        bounds=(-s.bound, s.bound), seed=spec.study.seed,
    )


def _taylorglo_suggest(spec: StudySpec) -> SuggestLoss:
    s = _taylorglo_settings(spec)
    return lambda trial: suggest_taylor_loss(trial, s.order, low=-s.bound, high=s.bound)


METHODS: dict[str, Method] = {
    "taylorglo": Method(_taylorglo_sampler, _taylorglo_suggest),
}


def make_sampler(spec: StudySpec) -> optuna.samplers.BaseSampler:
    """The spec's sampler (its state lives in the storage, so every worker shares one search)."""
    return METHODS[spec.method].make_sampler(spec)


def make_objective(
    spec: StudySpec,
    *,
    device: str | None = None,
    data_dir: str | None = None,
    download: bool = False,
) -> LossSearchObjective:
    """The spec's objective: its task, training settings and the method's loss per trial."""
    task = get_task(spec.study.task)
    if spec.training.lr is not None:
        task = task.with_recipe(lr=spec.training.lr)
    ar = spec.training.abort_retry
    abort_rule = AbortRule(**dataclasses.asdict(ar)) if ar is not None else None
    return LossSearchObjective(
        task,
        METHODS[spec.method].make_suggest_loss(spec),
        steps=spec.training.steps,
        seed=spec.study.seed,
        common_random_numbers=spec.training.common_random_numbers,
        abort_rule=abort_rule,
        device=device,
        data_dir=data_dir,
        download=download,
    )
