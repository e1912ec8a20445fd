"""The spec tables of the population-based methods: ``[epbt]`` and ``[pbt]``."""

from __future__ import annotations

import math
from dataclasses import dataclass

#: The population-based methods: a trial is one training segment of one individual.
POPULATION_METHODS = ("epbt", "pbt")


#: The TaylorGLO parameterization of EPBT and PBT: ``"eq5"``, EPBT eq. 1 as printed (TaylorGLO's
#: eq. 5: the 1/2 and 1/6 factors and the 1/n), unlike the TaylorGLO method's default ``"code"``.
#: EPBT has no released code and publishes no theta to reproduce, and its initialization (every
#: parameter uniform in [-10, 10], section 4.1) trains in the printed form, whose gradient is about
#: 20x smaller: on the CPU quickstart all eight initial individuals of the ``"code"`` form ended at
#: chance accuracy (docs/design.md, "EPBT's form"). ``form = "code"`` stays an option.
POPULATION_FORM = "eq5"


@dataclass(frozen=True)
class EPBTSettings:
    """EPBT (section 3, Algorithm 1; settings of section 4.1) over the TaylorGLO parameters.

    ``[study] generations`` counts generations: ``population_size`` trials in generation 0, then
    ``population_size - n_elites`` children each (the elites are carried over untrained). A
    segment is ``segment_epochs`` epochs (EPBT: 8 on CIFAR-10, 1 on SVHN) or ``segment_steps``
    steps. The paper names no mutation rates (see ``EPBTSampler``).
    """

    population_size: int = 40  # EPBT 4.1
    n_elites: int = 20  # EPBT 4.1: k = 20
    tournament_size: int = 2  # EPBT 3.2
    mutation_sigma: float = 0.2
    reinit_prob: float = 0.05
    crossover_prob: float = 0.5  # EPBT 3.2
    segment_epochs: int | None = None
    segment_steps: int | None = None
    order: int = 3
    bound: float = 10.0  # EPBT 4.1: [-10, 10]
    form: str = POPULATION_FORM

    def n_trials(self, generations: int) -> int:
        """Trials of ``generations`` generations."""
        return self.population_size + (generations - 1) * (self.population_size - self.n_elites)

    @property
    def batch_period(self) -> int:
        """Generation boundaries all fall on multiples of this (p, then p - k per generation)."""
        return math.gcd(self.population_size, self.population_size - self.n_elites)


@dataclass(frozen=True)
class PBTSettings:
    """PBT as EPBT section 4.1's baselines ran it: over the TaylorGLO parameters
    (``space = "taylorglo"``) or SGD's learning rate and momentum with cross-entropy
    (``space = "sgd"``). Every member trains every generation."""

    population_size: int = 40  # EPBT 4.1
    space: str = "taylorglo"
    truncation_fraction: float = 0.25  # EPBT 4.1: top and bottom 25%
    perturbation_factors: tuple[float, ...] = (1.2, 0.8)  # EPBT 4.1: magnitude 1.2
    resample_prob: float = 0.25
    segment_epochs: int | None = None
    segment_steps: int | None = None
    order: int = 3
    bound: float = 10.0  # EPBT 4.1: [-10, 10]
    form: str = POPULATION_FORM  # the same parameterization as EPBT, whose baseline this is

    def n_trials(self, generations: int) -> int:
        """Trials of ``generations`` generations."""
        return generations * self.population_size

    @property
    def batch_period(self) -> int:
        return self.population_size


def check_population(
    method: str, p: EPBTSettings | PBTSettings, generations: int | None, n_trials: int | None
) -> None:
    """Refuse settings a population method cannot run, with a one-line ``ValueError``."""
    t = f"[{method}]"
    if generations is None or n_trials is not None:
        raise ValueError(
            f"method {method!r} counts its budget in generations: give [study] "
            "`generations` (and no `n_trials`)."
        )
    if p.form not in ("code", "eq5"):  # losses.TAYLOR_FORMS
        raise ValueError(
            f"{t} form must be 'code' (the TaylorGLO authors' code) or 'eq5' (as printed). The "
            f"specified form is {p.form!a}."
        )
    if (p.segment_epochs is None) == (p.segment_steps is None):
        raise ValueError(
            f"{t} needs exactly one of `segment_epochs` and `segment_steps` (a segment's length). "
            f"The specified values are {p.segment_epochs} and {p.segment_steps}."
        )
    length = p.segment_epochs if p.segment_epochs is not None else p.segment_steps
    if length is not None and length < 1:
        raise ValueError(f"{t} the segment length must be >= 1, got {length}.")
    if p.population_size < 2:
        raise ValueError(f"{t} population_size must be >= 2, got {p.population_size}.")
    if p.order < 1:
        raise ValueError(f"{t} order must be >= 1, got {p.order}.")
    if not (0.0 < p.bound < math.inf):
        raise ValueError(f"{t} bound must be a finite number > 0, got {p.bound}.")
    if isinstance(p, EPBTSettings):
        if not 0 <= p.n_elites < p.population_size:
            raise ValueError(
                f"{t} n_elites must be in [0, population_size = {p.population_size}), got "
                f"{p.n_elites}."
            )
        if p.tournament_size < 1:
            raise ValueError(f"{t} tournament_size must be >= 1, got {p.tournament_size}.")
        rates: tuple[tuple[str, float], ...] = (
            ("reinit_prob", p.reinit_prob), ("crossover_prob", p.crossover_prob)
        )
        if not 0.0 <= p.mutation_sigma < math.inf:
            raise ValueError(f"{t} mutation_sigma must be a number >= 0, got {p.mutation_sigma}.")
    else:
        if p.space not in ("taylorglo", "sgd"):
            raise ValueError(f"{t} space must be 'taylorglo' or 'sgd', got {p.space!r}.")
        if not 0.0 < p.truncation_fraction <= 0.5:
            raise ValueError(
                f"{t} truncation_fraction must be in (0, 0.5], got {p.truncation_fraction}."
            )
        if not p.perturbation_factors or not all(0 < f < math.inf for f in p.perturbation_factors):
            raise ValueError(
                f"{t} perturbation_factors must be numbers > 0, got {list(p.perturbation_factors)}."
            )
        rates = (("resample_prob", p.resample_prob),)
    for name, rate in rates:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"{t} {name} must be a probability in [0, 1], got {rate}.")
