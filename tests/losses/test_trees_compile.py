"""Compiled trees as torch losses, untrainable trees, random trees and free coefficients."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from tree_strategies import trees

from optuna_glo.losses import BAIKAL_CMA_COEFFICIENTS, Baikal, BaikalCMA, CrossEntropy
from optuna_glo.losses.trees import (
    DEFAULT_NODE_WEIGHTS,
    Node,
    TreeLoss,
    depth,
    fitness_key,
    free_coefficient_paths,
    iter_paths,
    parse,
    random_tree,
    untrainable_reason,
    with_coefficients,
)


def _batch(seed: int = 0, shape: tuple[int, ...] = (16, 10)) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    logits = 4.0 * torch.randn(*shape, generator=gen)
    target = torch.randint(0, shape[-1], shape[:-1], generator=gen)
    return logits, target


def _loss_and_grad(loss_fn: torch.nn.Module, logits: torch.Tensor, target: torch.Tensor):
    logits = logits.clone().requires_grad_()
    loss = loss_fn(logits, target)
    (grad,) = torch.autograd.grad(loss, logits)
    return loss.detach(), grad


def test_baikal_tree_equals_the_named_baikal() -> None:
    logits, target = _batch()
    tree_loss, tree_grad = _loss_and_grad(TreeLoss("log(y) - x / y"), logits, target)
    named_loss, named_grad = _loss_and_grad(Baikal(), logits, target)
    assert torch.equal(tree_loss, named_loss)
    assert torch.equal(tree_grad, named_grad)


def test_baikal_cma_tree_equals_the_named_baikal_cma() -> None:
    c0, c1, c2, c3, c4, c5 = BAIKAL_CMA_COEFFICIENTS
    text = f"{{{c0}}}({{{c1}}}log({{{c2}}}y) - {{{c3}}}({{{c4}}}x / {{{c5}}}y))"
    logits, target = _batch(1)
    tree_loss, tree_grad = _loss_and_grad(TreeLoss(text), logits, target)
    named_loss, named_grad = _loss_and_grad(BaikalCMA(), logits, target)
    torch.testing.assert_close(tree_loss, named_loss)
    torch.testing.assert_close(tree_grad, named_grad)


def test_cross_entropy_as_a_tree_matches_up_to_the_papers_one_over_n() -> None:
    logits, target = _batch(2)
    tree = TreeLoss("x * log(y)")(logits, target)
    torch.testing.assert_close(tree * 10, CrossEntropy()(logits, target), rtol=1e-5, atol=1e-5)


def test_tree_loss_is_a_drop_in_for_cross_entropy() -> None:
    logits, target = _batch(3, (4, 8, 10))  # a population of 4 models, batch 8
    loss = TreeLoss("log(y) - x / y")
    assert loss(logits, target).shape == (4,)
    assert TreeLoss("log(y) - x / y", reduction="none")(logits, target).shape == (4, 8)
    one_hot = torch.nn.functional.one_hot(target, 10).float()
    torch.testing.assert_close(loss(logits, one_hot), loss(logits, target))
    assert loss.formula() == "L(x, y) = -(1/n) * sum_i [log(y) - x / y]"
    assert loss.text == "log(y) - x / y"
    with pytest.raises(ValueError, match="`reduction`"):
        TreeLoss("x * y", reduction="avg")


@pytest.mark.parametrize(
    "text",
    ["log(x) * y", "sqrt(x - y)", "x / (y - y)", "y / x", "log(-1 * y) + x * y", "sqrt(x) * y"],
)
def test_guards_keep_values_and_gradients_finite(text: str) -> None:
    logits, target = _batch(4)
    logits[0, 0] = 200.0  # a softmax that underflows to exact zeros
    loss, grad = _loss_and_grad(TreeLoss(text), logits, target)
    assert torch.isfinite(loss) and bool(torch.isfinite(grad).all())


@settings(max_examples=100, deadline=None)
@given(trees(with_coefficients=False, max_leaves=8))
def test_every_tree_compiles_to_a_scalar_loss(tree: Node) -> None:
    logits, target = _batch(5)
    loss = TreeLoss(tree)(logits, target)
    assert loss.shape == ()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("log(y)", "no x leaf"),
        ("x * x", "no y leaf"),
        ("1 + -1", "neither an x nor a y"),
        ("x + y - y", "does not depend on y"),
        ("x + 2 * y", "only linearly"),
        ("x + log(-1 * y)", "zero gradient"),
    ],
)
def test_untrainable_trees_are_recognised(text: str, fragment: str) -> None:
    reason = untrainable_reason(parse(text))
    assert reason is not None and fragment in reason


@pytest.mark.parametrize("text", ["log(y) - x / y", "x * log(y)", "x * y", "(x - y)^2"])
def test_trainable_trees_pass(text: str) -> None:
    assert untrainable_reason(parse(text)) is None


def test_random_trees_have_depth_at_most_two_and_follow_the_weights() -> None:
    rng = np.random.default_rng(0)
    roots: Counter[str] = Counter()
    for _ in range(4000):
        tree = random_tree(rng)
        assert depth(tree) <= 2
        roots["1" if tree.op == "const" and tree.value == 1 else
              "-1" if tree.op == "const" else tree.op] += 1
    total = sum(DEFAULT_NODE_WEIGHTS.values())
    for element, weight in DEFAULT_NODE_WEIGHTS.items():
        expected = 4000 * weight / total
        # 4 standard deviations of a binomial count.
        assert abs(roots[element] - expected) < 4 * np.sqrt(expected), element
    assert roots["log"] > 2.5 * roots["+"] and roots["sqrt"] > 1.5 * roots["*"]


def test_random_tree_is_reproducible_and_checks_its_arguments() -> None:
    a = [random_tree(np.random.default_rng(7)) for _ in range(3)]
    b = [random_tree(np.random.default_rng(7)) for _ in range(3)]
    assert a == b
    with pytest.raises(ValueError, match="`max_depth`"):
        random_tree(np.random.default_rng(0), max_depth=-1)
    with pytest.raises(ValueError, match="unknown element"):
        random_tree(np.random.default_rng(0), node_weights={"exp": 1.0})
    with pytest.raises(ValueError, match="leaf"):
        random_tree(np.random.default_rng(0), node_weights={"log": 1.0})


@pytest.mark.parametrize(
    ("text", "n_free"),
    [
        ("3 * (5 * x + 2 * y)", 2),  # GLO III-B: 3(5x + 2y) = 15x + 6y
        ("5 * x * y + 2 * log(y)", 3),  # one scale per product, one inside log
        ("y * log(x) - log(x)", 2),  # log(x) alone cannot change training: no coefficient
        ("x + y", 0),  # neither can x, nor y (sum_i y_i = 1)
        ("log(y) - x / y", 4),  # BaikalCMA's six coefficients, less two absorbed ones
        ("x * log(y)", 2),  # the product's scale and log's argument scale
        ("(x - y)^2", 2),  # square's scale and the ratio inside
    ],
)
def test_free_coefficients(text: str, n_free: int) -> None:
    assert len(free_coefficient_paths(parse(text))) == n_free


def test_free_coefficients_reach_baikal_cma() -> None:
    c0, c1, c2, c3, c4, c5 = BAIKAL_CMA_COEFFICIENTS
    tree = parse("log(y) - x / y")
    tuned = with_coefficients(tree, [c0 * c1, c2, c0 * c3 * c4, c5])
    logits, target = _batch(6)
    torch.testing.assert_close(TreeLoss(tuned)(logits, target), BaikalCMA()(logits, target))
    with pytest.raises(ValueError, match="`coefficients`"):
        with_coefficients(tree, [1.0])


@settings(max_examples=100, deadline=None)
@given(trees(with_coefficients=True, max_leaves=8))
def test_unit_free_coefficients_give_back_the_discovered_tree(tree: Node) -> None:
    n = len(free_coefficient_paths(tree))
    ones = with_coefficients(tree, [1.0] * n)
    assert all(node.coefficient == 1.0 for _, node in iter_paths(ones))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("y * log(x) - log(x)", "y * log(x)"),  # a y-free term: no gradient
        ("y * log(x) + x", "log(x) * y"),
        ("log(y) - x / y + 3 * y - 2", "log(y) - x / y"),  # 3y: sum_i y_i = 1 after softmax
    ],
)
def test_fitness_key_ignores_terms_that_cannot_change_training(a: str, b: str) -> None:
    assert fitness_key(parse(a)) == fitness_key(parse(b))
    logits, target = _batch(7)
    _, grad_a = _loss_and_grad(TreeLoss(a), logits, target)
    _, grad_b = _loss_and_grad(TreeLoss(b), logits, target)
    torch.testing.assert_close(grad_a, grad_b)


def test_fitness_key_keeps_terms_that_overflow() -> None:
    blowup = parse("1 / x")
    for _ in range(6):  # (1/EPS)^64 overflows float32 where x = 0
        blowup = Node("sq", (blowup,))
    tree = Node("+", (parse("y * log(y)"), blowup))
    assert fitness_key(tree) != fitness_key(parse("y * log(y)"))
    assert fitness_key(parse("x * log(y)")) != fitness_key(parse("x * log(y) * 2"))
