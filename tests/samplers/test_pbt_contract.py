"""Optuna's own sampler contract tests, run on EPBTSampler and PBTSampler.

The population samplers hand out their own parameters from each trial's slot and delegate every
other parameter to the independent sampler: these check both against Optuna's expectations.
The contract tests run trials one after another, so no trial waits on another.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import optuna
import pytest
from optuna.samplers import BaseSampler
from optuna.testing.pytest_samplers import (
    BasicSamplerTestCase,
    RelativeSamplerTestCase,
    SingleOnlySamplerTestCase,
)

from optuna_glo.samplers import EPBTSampler, PBTSampler

optuna.logging.set_verbosity(optuna.logging.WARNING)

SMALL = {"population_size": 4, "seed": 0, "poll_interval": 0.01}


def _tpe() -> BaseSampler:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(multivariate=True, n_startup_trials=0, seed=0)


class TestEPBTSampler(BasicSamplerTestCase):
    @pytest.fixture
    def sampler(self) -> Callable[[], BaseSampler]:
        return lambda: EPBTSampler(n_elites=2, **SMALL)  # type: ignore[arg-type]


class TestEPBTSamplerWithMultivariateTPE(RelativeSamplerTestCase):
    @pytest.fixture
    def sampler(self) -> Callable[[], BaseSampler]:
        return lambda: EPBTSampler(n_elites=2, independent_sampler=_tpe(), **SMALL)  # type: ignore[arg-type]


class TestEPBTSamplerSingleOnly(SingleOnlySamplerTestCase):
    @pytest.fixture
    def sampler(self) -> Callable[[], BaseSampler]:
        return lambda: EPBTSampler(seed=0)


class TestPBTSampler(BasicSamplerTestCase):
    @pytest.fixture
    def sampler(self) -> Callable[[], BaseSampler]:
        return lambda: PBTSampler(**SMALL)  # type: ignore[arg-type]


class TestPBTSamplerWithMultivariateTPE(RelativeSamplerTestCase):
    @pytest.fixture
    def sampler(self) -> Callable[[], BaseSampler]:
        return lambda: PBTSampler(independent_sampler=_tpe(), **SMALL)  # type: ignore[arg-type]


class TestPBTSamplerSingleOnly(SingleOnlySamplerTestCase):
    @pytest.fixture
    def sampler(self) -> Callable[[], BaseSampler]:
        return lambda: PBTSampler(seed=0)
