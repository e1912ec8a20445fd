"""TaylorGLO parameterization: TaylorGLO eq. 3-5."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from optuna_glo.losses import (
    TaylorGLOLoss,
    n_taylor_params,
    order_from_n_params,
    taylor_pointwise,
    taylor_terms,
)


@pytest.mark.parametrize(("order", "expected"), [(1, 3), (2, 5), (3, 8), (4, 12), (5, 17)])
def test_parameter_count_per_order(order: int, expected: int) -> None:
    # 2 centre coordinates + one coefficient per (a, b) with b >= 1, a + b <= k.
    assert n_taylor_params(order) == expected
    assert order_from_n_params(expected) == order


def test_order_three_is_equation_5_term_by_term() -> None:
    torch.manual_seed(0)
    t = torch.randn(8) * 3
    x = torch.rand(6, 10)
    y = torch.rand(6, 10)
    dx, dy = x - t[0], y - t[1]
    # TaylorGLO eq. (5), written out by hand.
    hand = (
        t[2] * dy
        + 0.5 * t[3] * dy**2
        + (1 / 6) * t[4] * dy**3
        + t[5] * dx * dy
        + 0.5 * t[6] * dx * dy**2
        + 0.5 * t[7] * dx**2 * dy
    )
    torch.testing.assert_close(taylor_pointwise(x, y, t, form="eq5"), hand)
    assert taylor_terms(3) == [(0, 1), (0, 2), (0, 3), (1, 1), (1, 2), (2, 1)]


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_no_kept_term_is_constant_in_y(order: int) -> None:
    # Each term alone (its coefficient 1, the others 0) must have a non-zero y-derivative.
    n = n_taylor_params(order)
    x = torch.tensor([0.3, 1.0])
    for j in range(2, n):
        theta = torch.zeros(n)
        theta[0], theta[1] = 0.2, -0.4
        theta[j] = 1.0
        y = torch.tensor([0.7, 0.1], requires_grad=True)
        taylor_pointwise(x, y, theta).sum().backward()
        assert y.grad is not None and y.grad.abs().sum() > 0, taylor_terms(order)[j - 2]


@settings(max_examples=25, deadline=None)
@given(
    order=st.integers(1, 4), m=st.integers(1, 4), seed=st.integers(0, 10_000),
    form=st.sampled_from(["code", "eq5"]),
)
def test_population_matches_one_by_one(order: int, m: int, seed: int, form: str) -> None:
    g = torch.Generator().manual_seed(seed)
    theta = torch.randn(m, n_taylor_params(order), generator=g)
    logits = torch.randn(m, 5, 10, generator=g)
    target = torch.randint(0, 10, (m, 5), generator=g)
    together = TaylorGLOLoss(theta, form=form)(logits, target)
    assert together.shape == (m,)
    for i in range(m):
        alone = TaylorGLOLoss(theta[i], form=form)(logits[i], target[i])
        torch.testing.assert_close(together[i], alone)


def test_drop_in_for_cross_entropy_loss_calls() -> None:
    torch.manual_seed(1)
    loss = TaylorGLOLoss(torch.randn(8), form="eq5")
    logits = torch.randn(4, 10, requires_grad=True)
    target = torch.tensor([1, 0, 9, 3])
    one_hot = torch.nn.functional.one_hot(target, 10).float()
    torch.testing.assert_close(loss(logits, target), loss(logits, one_hot))
    per_sample = TaylorGLOLoss(loss.theta, reduction="none", form="eq5")(logits, target)
    assert per_sample.shape == (4,)
    torch.testing.assert_close(per_sample.mean(), loss(logits, target))
    # L = -(1/n) sum_i f(x_i, y_i), batch-averaged.
    y = torch.softmax(logits, -1)
    manual = -(taylor_pointwise(one_hot, y, loss.theta, form="eq5").sum(-1) / 10).mean()
    torch.testing.assert_close(loss(logits, target), manual)
    loss(logits, target).backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all()


def test_bad_parameters_are_rejected_with_the_count() -> None:
    with pytest.raises(ValueError, match="has 7"):
        TaylorGLOLoss(torch.zeros(7))
    with pytest.raises(ValueError, match="finite"):
        TaylorGLOLoss([math.nan] * 8)
    with pytest.raises(ValueError, match="`order`"):
        taylor_terms(0)
    with pytest.raises(ValueError, match="`reduction`"):
        TaylorGLOLoss(torch.zeros(8), reduction="avg")


def test_formula_shows_each_term() -> None:
    text = TaylorGLOLoss([0.0, 1.0, 2.0, 0, 0, 0, 0, 0], form="eq5").formula()
    assert text == "L(x, y) = -(1/n) * sum_i [2*(y - 1) + 0*(y - 1)^2 + 0*(y - 1)^3 + 0*(x - 0)*(y - 1) + 0*(x - 0)*(y - 1)^2 + 0*(x - 0)^2*(y - 1)]"  # noqa: E501
