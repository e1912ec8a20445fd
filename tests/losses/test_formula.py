"""Readable formulas: one renderer for the terminal, dashboard notes, plots and exports."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from tree_strategies import trees

from optuna_glo.losses import (
    FORMULA_LEGEND,
    TAYLORGLO_MNIST_THETA,
    Baikal,
    BaikalCMA,
    CrossEntropy,
    TaylorGLOLoss,
    format_number,
    readable_formula,
)
from optuna_glo.losses._formula import polynomial_coefficients
from optuna_glo.losses.trees import Node, TreeLoss, format_tree, readable_tree


def test_named_losses() -> None:
    assert readable_formula(CrossEntropy()) == "L(x, y) = -Σᵢ xᵢ·log(yᵢ)"
    assert readable_formula(Baikal()) == "L(x, y) = -(1/n) Σᵢ [log(yᵢ) - xᵢ/yᵢ]"
    # GLO eq. (2): c0 c1 = 2.691; log(c2 y) = log(c2) + log(y) drops its constant;
    # c0 c3 c4 / c5 = 2.7279 * -1.1135 * 1.3716 / -0.8411 = 4.953, its sign folded.
    assert readable_formula(BaikalCMA()) == "L(x, y) = -(1/n) Σᵢ [2.691·log(yᵢ) - 4.953·xᵢ/yᵢ]"


def test_taylorglo_is_a_plain_polynomial_without_gradient_free_terms() -> None:
    # TaylorGLO appendix C's MNIST loss: the shifted form has a level of about 3,400 and a
    # c·y term, neither of which changes the gradient.
    assert readable_formula(TaylorGLOLoss(TAYLORGLO_MNIST_THETA, form="eq5")) == (
        "L(x, y) = -(1/n) Σᵢ [-74.47·yᵢ² - 0.278·yᵢ³ + 103.9·xᵢ·yᵢ + 6.334·xᵢ·yᵢ² - 1.734·xᵢ²·yᵢ]"
    )
    # The authors' code form (the default): no 1/alpha! and no 1/n, so a sum over the classes.
    assert readable_formula(TaylorGLOLoss(TAYLORGLO_MNIST_THETA)) == (
        "L(x, y) = -Σᵢ [-162.4·yᵢ² - 1.668·yᵢ³ + 196.1·xᵢ·yᵢ + 12.67·xᵢ·yᵢ² - 3.467·xᵢ²·yᵢ]"
    )


def test_taylorglo_keeps_the_shifted_form_where_it_is_shorter() -> None:
    # theta_4 / 6 (y - 1.5)^3 = y^3 - 4.5 y^2 + ...: one shifted term beats two plain ones.
    assert readable_formula(TaylorGLOLoss([0.5, 1.5, 0, 0, 6, 0, 0, 0], form="eq5")) == (
        "L(x, y) = -(1/n) Σᵢ [(yᵢ - 1.5)³]"
    )
    assert readable_formula(TaylorGLOLoss([-0.5, 1.5, 0, 0, 0, 0, 0, 3], form="eq5")) == (
        "L(x, y) = -(1/n) Σᵢ [1.5·xᵢ·yᵢ + 1.5·xᵢ²·yᵢ]"
    )


def test_glo_trees_are_rounded_and_signs_folded() -> None:
    tree = TreeLoss("{2.2249990530283963}(y * log({2.8859511830272826}x))")
    # 2.225 log(2.886) y is a c·y term: the softmax makes it a constant.
    assert readable_formula(tree) == "L(x, y) = -(1/n) Σᵢ [2.225·yᵢ·log(xᵢ)]"
    assert readable_tree(TreeLoss("y / {-0.5}x - {-1}(x * y)").tree) == "-2·yᵢ/xᵢ + xᵢ·yᵢ"
    assert readable_tree(TreeLoss("y * log(x) - log(x) + 3 * y - 2").tree) == "yᵢ·log(xᵢ)"
    assert readable_tree(TreeLoss("sqrt({4}y) * sqrt(y) / (x + y)").tree) == (
        "2·(√yᵢ)²/(xᵢ + yᵢ)"
    )
    # Nothing reaches the gradient: every term is shown rather than nothing.
    assert readable_tree(TreeLoss("-1").tree) == "-1"
    untrainable = TaylorGLOLoss([0, 1, 2, 0, 0, 0, 0, 0], form="eq5")
    assert readable_formula(untrainable) == "L(x, y) = -(1/n) Σᵢ [2·yᵢ - 2]"


def test_legend_says_what_x_and_y_are() -> None:
    lines = readable_formula(Baikal(), legend=True).splitlines()
    assert lines == ["L(x, y) = -(1/n) Σᵢ [log(yᵢ) - xᵢ/yᵢ]", FORMULA_LEGEND]
    assert "one-hot target" in FORMULA_LEGEND and "softmax prediction" in FORMULA_LEGEND


@pytest.mark.parametrize(
    ("value", "text"),
    [(2.2249990530283963, "2.225"), (2.0, "2"), (-0.0001234567, "-0.0001235"),
     (12345.6, "12350"), (3.4e7, "3.4e7"), (1.5e-6, "1.5e-6"), (0.1, "0.1")],
)
def test_numbers_have_four_significant_digits(value: float, text: str) -> None:
    assert format_number(value) == text


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-20, 20), min_size=8, max_size=8))
def test_polynomial_coefficients_reproduce_the_loss(theta: list[float]) -> None:
    loss = TaylorGLOLoss(torch.tensor(theta, dtype=torch.float64))
    coefficients = polynomial_coefficients(loss)
    assert coefficients is not None
    x, y = np.random.default_rng(0).random((2, 50))
    with torch.no_grad():
        expected = loss.pointwise(torch.as_tensor(x), torch.as_tensor(y)).numpy()
    got = np.polynomial.polynomial.polyval2d(x, y, coefficients)
    assert got == pytest.approx(expected, abs=1e-9 * (1 + np.abs(expected).max()))
    assert not coefficients[2:, 2:].any()  # degree 3: no x^2 y^2 and beyond


def test_a_loss_that_is_not_a_polynomial_of_its_order_keeps_its_exact_formula() -> None:
    class Wrong(TaylorGLOLoss):
        def pointwise(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return torch.log(y.clamp_min(1e-7))

    loss = Wrong(TAYLORGLO_MNIST_THETA)
    assert polynomial_coefficients(loss) is None
    assert readable_formula(loss) == loss.formula()


@settings(max_examples=200, deadline=None)
@given(trees(with_coefficients=True))
def test_every_tree_has_a_readable_form(tree: Node) -> None:
    text = readable_tree(tree)
    if text == format_tree(tree):  # constants beyond a float: the exact text is kept
        return
    assert text and "{" not in text and "+ -" not in text and "- -" not in text


def test_the_terms_left_out_do_not_change_the_gradient() -> None:
    loss = TaylorGLOLoss(torch.tensor(TAYLORGLO_MNIST_THETA, dtype=torch.float64))
    coefficients = polynomial_coefficients(loss)
    assert coefficients is not None
    coefficients[:, 0] = 0.0  # no y
    coefficients[0, 1] = 0.0  # c·y: sum_i c y_i = c

    class Written(TaylorGLOLoss):
        def pointwise(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return sum(  # type: ignore[return-value]
                float(coefficients[a, b]) * x**a * y**b
                for a in range(4) for b in range(4) if coefficients[a, b]
            )

    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(16, 10, generator=gen, dtype=torch.float64)
    target = torch.randint(0, 10, (16,), generator=gen)
    grads = []
    for each in (loss, Written(TAYLORGLO_MNIST_THETA)):
        leaf = logits.clone().requires_grad_()
        each(leaf, target).backward()
        grads.append(leaf.grad)
    assert torch.allclose(grads[0], grads[1], atol=1e-9)
