"""PBTSampler, the baselines of EPBT section 4.1: truncation and explore every generation."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import optuna
import pytest
from optuna.trial import FrozenTrial, TrialState
from pbt_helpers import NAMES, objective, progress

from optuna_glo.keys import SGD_LR_PARAM, SGD_MOMENTUM_PARAM
from optuna_glo.samplers.pbt import (
    PBTSampler,
    generation_of,
    lineage_of,
    parent_of,
    sgd_space,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)
P, GENERATIONS = 8, 4


def sgd_objective(trial: optuna.Trial) -> float:
    lr = trial.suggest_float(SGD_LR_PARAM, 1e-4, 1.0, log=True)
    momentum = trial.suggest_float(SGD_MOMENTUM_PARAM, 0.0, 0.99)
    return float(progress(trial) - abs(np.log10(lr) + 1.0) - abs(momentum - 0.9))


def _members(study: optuna.Study, generation: int) -> list[FrozenTrial]:
    return sorted(
        (t for t in study.trials if generation_of(t) == generation), key=lambda t: t.number
    )


def _run(
    objective: Callable[[optuna.Trial], float], **kwargs: object
) -> tuple[optuna.Study, PBTSampler]:
    settings = {"population_size": P, "seed": 0, "poll_interval": 0.01, **kwargs}
    sampler = PBTSampler(**settings)  # type: ignore[arg-type]
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=sampler.n_trials(GENERATIONS), catch=(RuntimeError,))
    return study, sampler


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"population_size": 1}, r"`population_size` must be an int >= 2\. .* is 1\."),
        ({"truncation_fraction": 0.6}, r"`truncation_fraction` must be in \[0, 0\.5\]\. .* 0\.6\."),
        ({"perturbation_factors": ()}, r"`perturbation_factors` must be a non-empty sequence"),
        ({"perturbation_factors": (1.2, -0.8)}, r"finite numbers > 0\. .* \(1\.2, -0\.8\)\."),
        ({"resample_prob": float("inf")}, r"`resample_prob` must be in \[0, 1\]\. .* is inf\."),
    ],
)
def test_settings_are_checked(kwargs: dict[str, object], pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        PBTSampler(**kwargs)  # type: ignore[arg-type]


def test_bottom_quarter_copies_the_top_quarter_and_explores() -> None:
    study, sampler = _run(objective)
    assert len(study.trials) == P * GENERATIONS == sampler.n_trials(GENERATIONS)
    generation0 = _members(study, 0)
    # EPBT 4.1: "the loss parameters were initialized around zero", bounds [-10, 10].
    assert all(abs(t.params[n]) <= 1.0 for t in generation0 for n in NAMES)
    assert all(parent_of(study, t) is None for t in generation0)
    perturbed = resets = 0
    for g in range(1, GENERATIONS):
        previous, members = _members(study, g - 1), _members(study, g)
        assert [t.number for t in sampler.population(study, g - 1)] == [t.number for t in previous]
        assert len(members) == P  # every member trains every generation
        assert sampler.elites(study, g) == []
        ranked = sorted(previous, key=lambda t: (-t.value, t.number))
        top, bottom = ranked[:2], ranked[-2:]  # 25% of 8
        by_number = {t.number: t for t in previous}
        for slot, (before, member) in enumerate(zip(previous, members, strict=True)):
            parent = by_number[parent_of(study, member)]
            assert member.user_attrs["progress"] == parent.user_attrs["progress"] + 1
            assert lineage_of(study, member) == lineage_of(study, parent)
            if before in bottom:
                assert parent in top
                assert f"member {slot} copies trial {parent.number}" in member.user_attrs[
                    "population_origin"
                ]
                for n in NAMES:
                    value, source = member.params[n], parent.params[n]
                    assert -10.0 <= value <= 10.0
                    if np.isclose(value, np.clip(source * 1.2, -10, 10)) or np.isclose(
                        value, np.clip(source * 0.8, -10, 10)
                    ):
                        perturbed += 1
                    else:
                        resets += 1
            else:  # the middle 50% and the top continue with their own weights and values
                assert parent is before and member.params == before.params
    assert perturbed + resets == 3 * 2 * 8
    assert 3 <= resets <= 24  # 25% of 48 is 12


def test_pbt_over_sgd_learning_rate_and_momentum() -> None:
    study, sampler = _run(sgd_objective, space=sgd_space())
    assert sampler.space.names == (SGD_LR_PARAM, SGD_MOMENTUM_PARAM)
    for t in study.trials:
        assert 1e-4 <= t.params[SGD_LR_PARAM] <= 1.0
        assert 0.0 <= t.params[SGD_MOMENTUM_PARAM] <= 0.99
        assert t.distributions[SGD_LR_PARAM].log
    copies = [
        t for t in study.trials
        if generation_of(t) and "copies" in t.user_attrs["population_origin"]
    ]
    assert len(copies) == 2 * (GENERATIONS - 1)
    ratios = [
        t.params[SGD_LR_PARAM] / study.trials[parent_of(study, t)].params[SGD_LR_PARAM]
        for t in copies
    ]
    assert any(np.isclose(r, 1.2) or np.isclose(r, 0.8) for r in ratios)


def test_a_member_whose_trial_failed_copies_a_top_member() -> None:
    def flaky(trial: optuna.Trial) -> float:
        value = objective(trial)
        if trial.number == 3:
            raise RuntimeError("worker lost its GPU")
        return value

    study, sampler = _run(flaky)
    assert study.trials[3].state == TrialState.FAIL
    assert len(sampler.population(study, 0)) == P - 1
    member3 = _members(study, 1)[3]
    top = sorted(sampler.population(study, 0), key=lambda t: (-t.value, t.number))[:2]
    assert parent_of(study, member3) in {t.number for t in top}
    assert "its last trial failed" in member3.user_attrs["population_origin"]
    assert len(sampler.population(study, 1)) == P
