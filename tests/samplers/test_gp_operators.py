"""GP operators: mutations, subtree crossover and roulette selection (GLO III-A)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from optuna.study import StudyDirection

from optuna_glo.losses.trees import (
    BINARY_OPS,
    CONST,
    DEFAULT_NODE_WEIGHTS,
    UNARY_OPS,
    Node,
    const,
    depth,
    iter_paths,
    parse,
    size,
)
from optuna_glo.samplers.gp import (
    MutationRates,
    mutate,
    roulette,
    roulette_weights,
    subtree_crossover,
)

_LEAVES = st.one_of(st.just(Node("x")), st.just(Node("y")), st.integers(-3, 3).map(const))


def _extend(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    unary = st.builds(lambda op, a: Node(op, (a,)), st.sampled_from(UNARY_OPS), children)
    binary = st.builds(
        lambda op, a, b: Node(op, (a, b)), st.sampled_from(BINARY_OPS), children, children
    )
    return st.one_of(unary, binary)


TREES = st.recursive(_LEAVES, _extend, max_leaves=10)
PROBS = st.floats(0.0, 1.0)
SEEDS = st.integers(0, 2**32 - 1)


def _well_formed(tree: Node) -> bool:
    return parse(str(tree)) == tree and all(n.coefficient == 1.0 for _, n in iter_paths(tree))


@settings(max_examples=200, deadline=None)
@given(TREES, SEEDS, PROBS, PROBS, PROBS, PROBS)
def test_mutation_keeps_trees_well_formed(
    tree: Node, seed: int, p_int: float, p_same: float, p_shrink: float, p_grow: float
) -> None:
    rates = MutationRates(integer=p_int, same_arity=p_same, shrink=p_shrink, grow=p_grow)
    child = mutate(tree, np.random.default_rng(seed), rates=rates,
                   node_weights=DEFAULT_NODE_WEIGHTS)
    assert _well_formed(child)
    assert depth(child) <= depth(tree) + 1  # only the grow mutation adds a level


@settings(max_examples=200, deadline=None)
@given(TREES, TREES, SEEDS)
def test_crossover_keeps_trees_well_formed_and_swaps_material(a: Node, b: Node, seed: int) -> None:
    c, d = subtree_crossover(a, b, np.random.default_rng(seed))
    assert _well_formed(c) and _well_formed(d)
    assert size(c) + size(d) == size(a) + size(b)
    leaves = sorted(str(n) for t in (a, b) for _, n in iter_paths(t) if n.is_leaf)
    assert sorted(str(n) for t in (c, d) for _, n in iter_paths(t) if n.is_leaf) == leaves


def _mutate_only(tree: Node, seed: int = 0, **rates: float) -> Node:
    full = {"integer": 0.0, "same_arity": 0.0, "shrink": 0.0, "grow": 0.0, **rates}
    return mutate(tree, np.random.default_rng(seed), rates=MutationRates(**full),
                  node_weights=DEFAULT_NODE_WEIGHTS)


def test_integer_mutation_moves_every_integer_by_one() -> None:
    tree = parse("1 + x * -1 - log(y / 3)")
    for seed in range(20):
        child = _mutate_only(tree, seed, integer=1.0)
        before = [n.value for _, n in iter_paths(tree) if n.op == CONST]
        after = [n.value for _, n in iter_paths(child) if n.op == CONST]
        assert [abs(a - b) for a, b in zip(before, after, strict=True)] == [1, 1, 1]
        assert [n.op for _, n in iter_paths(child)] == [n.op for _, n in iter_paths(tree)]


def test_same_arity_mutation_keeps_the_shape() -> None:
    tree = parse("log(y) - x / sqrt(y)")
    changed = 0
    for seed in range(20):
        child = _mutate_only(tree, seed, same_arity=1.0)
        assert [p for p, _ in iter_paths(child)] == [p for p, _ in iter_paths(tree)]
        changed += str(child) != str(tree)
    assert changed >= 15


def test_shrink_mutation_replaces_operators_by_leaves() -> None:
    child = _mutate_only(parse("log(y) - x / y"), shrink=1.0)
    assert child.is_leaf


def test_grow_mutation_turns_leaves_into_nodes_with_leaf_children() -> None:
    tree = parse("x + y")
    for seed in range(20):
        child = _mutate_only(tree, seed, grow=1.0)
        assert child.op == "+"
        for sub in child.children:  # each leaf became an element with leaf children
            assert depth(sub) <= 1
    assert any(depth(_mutate_only(tree, s, grow=1.0)) == 2 for s in range(20))


def test_mutation_rates_are_checked() -> None:
    with pytest.raises(ValueError, match=r"`grow_mutation_prob` must be in \[0, 1\].*1.5"):
        MutationRates(grow=1.5)


def test_default_rates_are_the_papers() -> None:
    rates = MutationRates()
    assert (rates.integer, rates.same_arity, rates.shrink, rates.grow) == (0.05, 0.05, 0.025, 0.025)


def test_roulette_favours_fitter_parents() -> None:
    values = [0.1, 0.2, 0.3, 0.4]
    weights = roulette_weights(values, StudyDirection.MAXIMIZE)
    np.testing.assert_allclose(weights, [0.1, 0.2, 0.3, 0.4])
    counts = np.bincount(roulette(np.random.default_rng(0), weights, 20_000), minlength=4)
    expected = 20_000 * weights
    # Each count within 4 binomial standard deviations of its expectation, and ordered by fitness.
    assert np.all(np.abs(counts - expected) < 4 * np.sqrt(expected * (1 - weights)))
    assert list(np.argsort(counts)) == [0, 1, 2, 3]


def test_roulette_weights_edge_cases() -> None:
    np.testing.assert_allclose(roulette_weights([0.0, 0.0], StudyDirection.MAXIMIZE), [0.5, 0.5])
    np.testing.assert_allclose(roulette_weights([-1.0, 1.0], StudyDirection.MAXIMIZE), [0.0, 1.0])
    np.testing.assert_allclose(roulette_weights([1.0, 3.0], StudyDirection.MINIMIZE), [1.0, 0.0])
    np.testing.assert_allclose(
        roulette_weights([float("inf"), 1.0], StudyDirection.MAXIMIZE), [0.0, 1.0]
    )
