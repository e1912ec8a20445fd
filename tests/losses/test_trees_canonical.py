"""Canonical forms of loss trees: equal functions share a key, and the key is exact."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from tree_strategies import trees

from optuna_glo.losses.trees import (
    Node,
    canonical_key,
    canonicalize,
    evaluate,
    parse,
    prediction_dependence,
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("x * y", "y * x"),
        ("(x + y) + 1", "1 + (y + x)"),
        ("x - y", "-1 * y + x"),
        ("y^2", "y * y"),
        ("x + x", "2 * x"),
        ("log(y) - x / y", "-1 * (x / y) + log(y)"),
        ("log(y) - x / y", "log(y) + x * -1 / y"),
        ("3 * (5 * x + 2 * y)", "15 * x + 6 * y"),
        ("(x + y)^2", "x^2 + 2 * (x * y) + y^2"),
        ("x * log(y) + y - y", "log(y) * x"),
        ("x / y / y", "x / y * (1 / y)"),
        ("log(1) + x * sqrt(4) * log(y)", "log(y) * (x + x)"),
        ("x * log(y * x)", "x * log(x * y)"),
        ("sqrt(y - 1 + 1) * x", "x * sqrt(y)"),
        ("{3}(x + y)", "3 * x + 3 * y"),
        ("x / 2", "{0.5}x"),
        ("x / 0", "{10000000}x"),
        ("(x / 3) * 3 * y", "x * y"),
    ],
)
def test_equal_functions_share_a_key(a: str, b: str) -> None:
    assert canonical_key(parse(a)) == canonical_key(parse(b))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # Real-number identities that the guarded log / sqrt / division break:
        ("x / x", "1"),  # x = 0 on most classes: 0 / EPS = 0
        ("log(2 * y)", "log(2) + log(y)"),  # the clamp acts on 2y, not on y
        ("y / (2 * x)", "(y / x) / 2"),  # y / EPS vs y / (2 EPS) where x = 0
        ("sqrt(y)^2", "y"),
        ("sqrt(y^2)", "y"),
        ("1 / (1 / y)", "y"),
        ("log(y) - x / y", "log(y) + x / y"),
        ("x * y", "x + y"),
    ],
)
def test_different_functions_get_different_keys(a: str, b: str) -> None:
    assert canonical_key(parse(a)) != canonical_key(parse(b))


@settings(max_examples=120, deadline=None)
@given(trees(with_coefficients=True))
def test_canonicalize_is_idempotent(tree: Node) -> None:
    once = canonicalize(tree)
    assert canonicalize(once) == once



@settings(max_examples=120, deadline=None)
@given(trees(with_coefficients=False, max_leaves=8))
def test_canonical_form_computes_the_same_function(tree: Node) -> None:
    gen = torch.Generator().manual_seed(0)
    y = torch.softmax(torch.randn(64, 10, generator=gen, dtype=torch.float64), dim=-1)
    x = torch.nn.functional.one_hot(torch.randint(0, 10, (64,), generator=gen), 10).double()
    with torch.no_grad():
        original = evaluate(tree, x, y)
        canonical = evaluate(canonicalize(tree), x, y)
    # Up to float rounding (sums of terms of size up to 1/EPS^k are reordered).
    finite = torch.isfinite(original) & torch.isfinite(canonical)
    scale = original.abs().clamp_min(1.0) * 1e-6 + original.abs().max().clamp_min(1.0) * 1e-9
    assert bool(((original - canonical).abs() <= scale)[finite].all())


@pytest.mark.parametrize(
    ("text", "dependence"),
    [
        ("x + 1", "none"),
        ("y - y + x", "none"),
        ("x * (y - y)", "none"),
        ("x + y", "linear"),
        ("3 * y - x", "linear"),
        ("x * y", "nonlinear"),
        ("log(y)", "nonlinear"),
        ("y^2 - y * y + y", "linear"),
    ],
)
def test_prediction_dependence(text: str, dependence: str) -> None:
    assert prediction_dependence(parse(text)) == dependence


def test_towers_of_constants_stay_cheap() -> None:
    tower = parse("1 + 1")
    for _ in range(60):
        tower = Node("sq", (tower,))
    tree = Node("*", (tower, Node("log", (Node("y"),))))
    assert canonical_key(tree)  # no hang: the constant overflows and the tree keeps its form
    assert prediction_dependence(tree) == "nonlinear"


def test_canonical_form_of_baikal_is_readable() -> None:
    assert canonical_key(parse("log(y) - x / y")) == "-1 * x / y + log(y)"
