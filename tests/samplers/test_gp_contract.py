"""Optuna's own sampler contract tests, run on GeneticProgrammingSampler.

The GP sampler hands trees out through trial attributes and delegates every Optuna parameter to
its independent sampler: these check that delegation against Optuna's expectations.
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

from optuna_glo.samplers import GeneticProgrammingSampler

optuna.logging.set_verbosity(optuna.logging.WARNING)


class TestGeneticProgrammingSampler(BasicSamplerTestCase):
    @pytest.fixture
    def sampler(self) -> Callable[[], BaseSampler]:
        return lambda: GeneticProgrammingSampler(population_size=4, n_elites=1, seed=0)


class TestGeneticProgrammingSamplerWithMultivariateTPE(RelativeSamplerTestCase):
    @pytest.fixture
    def sampler(self) -> Callable[[], BaseSampler]:
        def make() -> BaseSampler:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                tpe = optuna.samplers.TPESampler(multivariate=True, n_startup_trials=0, seed=0)
            return GeneticProgrammingSampler(
                population_size=4, n_elites=1, seed=0, independent_sampler=tpe
            )

        return make


class TestGeneticProgrammingSamplerSingleOnly(SingleOnlySamplerTestCase):
    @pytest.fixture
    def sampler(self) -> Callable[[], BaseSampler]:
        return lambda: GeneticProgrammingSampler(seed=0)
