"""EPBT's and PBT's operators against the papers' definitions (EPBT sections 3.2 and 4.1).

Statistical checks use fixed seeds and compare with the exact distribution the definition
implies (scipy.stats), at a significance level far below what a correct operator ever fails.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from optuna_glo.keys import SGD_LR_PARAM, SGD_MOMENTUM_PARAM
from optuna_glo.samplers.pbt import (
    SearchSpace,
    Variable,
    best,
    explore,
    gaussian_mutation,
    quantile_size,
    sgd_space,
    taylor_space,
    tournament,
    truncation,
    uniform_crossover,
)

ALPHA = 1e-4  # a correct operator fails a check at this level once in 10,000 seeds


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# ------------------------------------------------------------------ tournament selection, t = 2


def test_tournament_of_two_picks_the_fitter_of_two_distinct_individuals() -> None:
    # EPBT 3.2 Stage 1: two individuals drawn at random, the fitter one becomes a parent. With
    # n individuals ranked r = 0 (best) .. n - 1, rank r wins a tournament with probability
    # P(r is drawn and the other is worse) = (n - 1 - r) / C(n, 2); the worst never wins.
    n, draws = 8, 8_400
    fitness = _rng(1).permutation(n).astype(float)
    winners = tournament(_rng(2), fitness, draws, size=2)
    rank = np.argsort(np.argsort(-fitness))[winners]
    counts = np.bincount(rank, minlength=n)
    expected = np.array([(n - 1 - r) / math.comb(n, 2) for r in range(n)]) * draws
    assert counts[n - 1] == 0
    assert stats.chisquare(counts[:-1], expected[:-1]).pvalue > ALPHA


def test_tournament_makes_p_minus_k_parents() -> None:
    # "This process is repeated until |M^_g| = |M_g| - k": 40 individuals, 20 elites.
    parents = tournament(_rng(), np.arange(40.0), 40 - 20, size=2)
    assert parents.shape == (20,)
    assert set(parents) <= set(range(40))


def test_tournament_sizes_and_ties() -> None:
    fitness = np.array([0.3, 0.9, 0.1, 0.5])
    # A tournament of the whole population always picks the best; size 1 is uniform.
    assert set(tournament(_rng(), fitness, 50, size=4)) == {1}
    assert set(tournament(_rng(), fitness, 50, size=9)) == {1}
    uniform = np.bincount(tournament(_rng(3), fitness, 4000, size=1), minlength=4)
    assert stats.chisquare(uniform).pvalue > ALPHA
    # Equal fitness: the lower index (the earlier trial) wins.
    assert set(tournament(_rng(), np.zeros(2), 30, size=2)) == {0}
    with pytest.raises(ValueError, match="non-empty population"):
        tournament(_rng(), np.array([]), 1)


# ------------------------------------------------------------------ elitism and truncation


def test_best_is_the_top_k_best_first_with_ties_to_the_lower_index() -> None:
    # EPBT 3.2 Stage 3: "M_g is sorted by f_gi and the best k performing individuals" survive.
    fitness = np.array([0.2, 0.9, 0.5, 0.9, 0.1])
    assert best(fitness, 3).tolist() == [1, 3, 2]
    assert best(fitness, 0).tolist() == []
    assert best(fitness, 9).tolist() == [1, 3, 2, 0, 4]


@pytest.mark.parametrize(
    ("n", "fraction", "size"),
    [(40, 0.25, 10), (6, 0.25, 2), (3, 0.25, 1), (1, 0.25, 0), (5, 0.5, 2)],
)
def test_quantile_size(n: int, fraction: float, size: int) -> None:
    assert quantile_size(n, fraction) == size


def test_truncation_copies_the_top_quarter_into_the_bottom_quarter() -> None:
    # EPBT 4.1: "the weights and loss parameters from the top 25% of the population were copied
    # over to the bottom 25% every generation". Jaderberg et al.: the source is drawn uniformly.
    n = 40
    fitness = _rng(4).permutation(n).astype(float)
    order = np.argsort(-fitness)
    top, bottom = set(order[:10]), set(order[30:])
    sources = np.zeros(n, dtype=int)
    for seed in range(400):
        copies = truncation(_rng(seed), fitness, 0.25)
        assert set(copies) == bottom  # exactly the worst 10 copy; the middle 50% and top keep
        assert set(copies.values()) <= top
        for source in copies.values():
            sources[source] += 1
    assert stats.chisquare(sources[order[:10]]).pvalue > ALPHA
    assert truncation(_rng(), np.array([1.0]), 0.25) == {}


# ------------------------------------------------------------------ EPBT mutation


def test_mutation_is_multiplicative_gaussian_noise_on_every_variable() -> None:
    # EPBT 3.2 Stage 2: "multiplicative Gaussian noise independently to each variable".
    space = taylor_space()
    values = np.full((5000, 8), 2.0)
    values[:, 1] = -3.0
    mutated, reinit = gaussian_mutation(_rng(5), values, space, sigma=0.2, reinit_prob=0.0)
    assert not reinit.any()
    factor = mutated / values
    assert (factor != 1.0).all()  # every variable moves
    assert stats.kstest(factor.ravel(), stats.norm(1.0, 0.2).cdf).pvalue > ALPHA
    # Independent across variables: no correlation between two columns' factors.
    assert abs(np.corrcoef(factor[:, 0], factor[:, 1])[0, 1]) < 0.06


def test_mutation_reinitialises_each_variable_with_its_probability_over_the_bounds() -> None:
    space = taylor_space()
    values = np.full((4000, 8), 0.5)
    mutated, reinit = gaussian_mutation(_rng(6), values, space, sigma=0.2, reinit_prob=0.05)
    n = reinit.size
    assert stats.binomtest(int(reinit.sum()), n, 0.05).pvalue > ALPHA
    assert stats.kstest(mutated[reinit], stats.uniform(-10, 20).cdf).pvalue > ALPHA
    kept = mutated[~reinit] / 0.5
    assert stats.kstest(kept, stats.norm(1.0, 0.2).cdf).pvalue > ALPHA
    everything, mask = gaussian_mutation(_rng(7), values, space, sigma=0.2, reinit_prob=1.0)
    assert mask.all()
    assert stats.kstest(everything.ravel(), stats.uniform(-10, 20).cdf).pvalue > ALPHA


def test_mutation_stays_within_the_bounds() -> None:
    space = taylor_space()
    values = np.full((2000, 8), 9.5)
    values[:, 4] = -9.5
    mutated, _ = gaussian_mutation(_rng(8), values, space, sigma=1.0, reinit_prob=0.1)
    assert (mutated >= -10.0).all() and (mutated <= 10.0).all()
    assert (mutated == 10.0).any() and (mutated == -10.0).any()  # clipped, not redrawn


# ------------------------------------------------------------------ EPBT uniform crossover


def test_uniform_crossover_takes_each_variable_from_another_parent_half_the_time() -> None:
    # EPBT 3.2 Stage 2: "each variable in h_gi is randomly swapped (50% probability) with the
    # same variable from another individual in M^_g".
    n, d = 20, 8
    values = np.arange(n)[:, None] * 100.0 + np.arange(d)[None, :]  # row id * 100 + column
    takes = 0
    partner_counts = np.zeros(n - 1)
    for seed in range(300):
        children, partners = uniform_crossover(_rng(seed), values, prob=0.5)
        assert (partners != np.arange(n)).all()
        own = children == values
        theirs = children == values[partners]
        assert (own | theirs).all()  # every variable is its own or its partner's, same column
        takes += int(theirs.sum())
        partner_counts += np.bincount((partners - np.arange(n)) % n, minlength=n)[1:]
    assert stats.binomtest(takes, 300 * n * d, 0.5).pvalue > ALPHA
    assert stats.chisquare(partner_counts).pvalue > ALPHA  # partner uniform over the others


def test_uniform_crossover_of_a_single_parent_changes_nothing() -> None:
    values = np.array([[1.0, 2.0]])
    children, partners = uniform_crossover(_rng(), values)
    assert children.tolist() == [[1.0, 2.0]] and partners.tolist() == [0]


# ------------------------------------------------------------------ PBT explore


def test_explore_perturbs_by_1_2_or_0_8_or_resets() -> None:
    # EPBT 4.1: "a mixture of both random resets and multiplicative perturbations of magnitude
    # 1.2"; Jaderberg et al.: "perturb the hyperparameter by a factor of 0.8 or 1.2".
    space = taylor_space()
    values = np.full((3000, 8), 0.5)
    out = explore(_rng(9), values, space, factors=(1.2, 0.8), resample_prob=0.25)
    up, down = np.isclose(out, 0.6), np.isclose(out, 0.4)
    reset = ~(up | down)
    assert stats.binomtest(int(reset.sum()), out.size, 0.25).pvalue > ALPHA
    assert stats.binomtest(int(up.sum()), int((up | down).sum()), 0.5).pvalue > ALPHA
    assert stats.kstest(out[reset], stats.uniform(-10, 20).cdf).pvalue > ALPHA
    near_edge = explore(_rng(), np.full((50, 8), 9.0), space, factors=(1.2,), resample_prob=0.0)
    assert (near_edge == 10.0).all()


# ------------------------------------------------------------------ spaces


def test_taylor_space_is_eight_parameters_in_minus_ten_ten() -> None:
    space = taylor_space()
    assert space.names == tuple(f"taylor_theta_{i}" for i in range(8))
    assert (space.low == -10.0).all() and (space.high == 10.0).all()
    initial = space.initial(_rng(10), 2000)  # EPBT: "sampled uniformly between -10 and 10"
    assert stats.kstest(initial.ravel(), stats.uniform(-10, 20).cdf).pvalue > ALPHA
    around_zero = taylor_space(init=(-1.0, 1.0)).initial(_rng(), 2000)
    assert np.abs(around_zero).max() <= 1.0


def test_sgd_space_draws_the_learning_rate_log_uniformly() -> None:
    space = sgd_space()
    assert space.names == (SGD_LR_PARAM, SGD_MOMENTUM_PARAM)
    assert space.distributions()[SGD_LR_PARAM].log
    values = space.reset(_rng(11), 3000)
    lr, momentum = values[:, 0], values[:, 1]
    assert stats.kstest(np.log10(lr), stats.uniform(-4, 4).cdf).pvalue > ALPHA
    assert stats.kstest(momentum, stats.uniform(0, 0.99).cdf).pvalue > ALPHA
    assert lr.min() >= 1e-4 and lr.max() <= 1.0  # holds the recipe's 0.1 -> 0.001 schedule
    assert momentum.max() <= 0.99


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (lambda: Variable("a", 1.0, 1.0), r"`a` bounds must be finite with low < high\. .*1\.0\)"),
        (lambda: Variable("a", 0.0, 1.0, log=True), r"`a` bounds must be finite with 0 < low"),
        (lambda: Variable("a", -1.0, math.inf), r"`a` bounds must be finite"),
        (lambda: Variable("a", -1.0, 1.0, init=(-2.0, 0.0)), r"`a` init must lie within"),
        (lambda: Variable("", -1.0, 1.0), r"`name` must be a non-empty str"),
        (lambda: SearchSpace([]), r"`variables` must be a non-empty sequence"),
        (lambda: SearchSpace([Variable("a", 0, 1), Variable("a", 0, 2)]), r"must be distinct"),
    ],
)
def test_bad_spaces_are_one_line_errors(make: object, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        make()  # type: ignore[operator]
