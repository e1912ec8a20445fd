"""The TaylorGLO authors' invariant (their released code; not in the paper)."""

from __future__ import annotations

import pytest
import torch

from optuna_glo.losses import (
    TAYLORGLO_MNIST_THETA,
    TaylorGLOLoss,
    invariant_margin,
    invariant_violation,
    term_factorials,
)


def authors_sides(p: list[float], n: int) -> tuple[float, float]:
    """``leftSide`` and ``rightSide`` as TaylorGLOGenerationStarter.swift computes them.

    Its parameter list is the six coefficients, then the centre; it renames them so that
    ``(p0, ..., p7)`` is eq. 5's ``theta`` order: centre (x, y), then the coefficients.
    """
    p0, p1, p2, p3, p4, p5, p6, p7 = p
    c1 = -2.0 * p1 * p3 + 2.0 * p0 * p1 * p6 + p2 - p5 * p0 + p7 * p0 * p0 + 3.0 * p4 * p1 * p1
    ch = 2.0 * p3 - 2.0 * p6 * p0 - 6.0 * p4 * p1
    chh = 3.0 * p4
    chy = 2.0 * p6
    cy = -2.0 * p1 * p6 + p5 - 2.0 * p7 * p0
    cyy = p7
    left = cy + cyy + chy / n
    right = (n - 2.0) * (c1 + ch / n + chh / (n * n))
    return left, right


@pytest.mark.parametrize("n", [2, 10, 100])
def test_code_form_margin_is_the_authors_left_minus_right(n: int) -> None:
    g = torch.Generator().manual_seed(n)
    violated = 0
    for _ in range(200):
        theta = (torch.randn(8, generator=g, dtype=torch.float64) * 1.2).tolist()
        loss = TaylorGLOLoss(torch.tensor(theta, dtype=torch.float64), form="code")
        left, right = authors_sides([float(v) for v in loss.theta.tolist()], n)
        assert invariant_margin(loss, n) == pytest.approx(left - right, rel=1e-9, abs=1e-9)
        assert (invariant_violation(loss, n) is not None) == (left < right)
        violated += left < right
    assert 0 < violated < 200  # both outcomes occur around theta = 0


def test_the_condition_is_on_f_so_both_forms_agree() -> None:
    g = torch.Generator().manual_seed(1)
    for order in (2, 3, 4):
        theta = torch.randn(2 + len(term_factorials(order)), generator=g, dtype=torch.float64)
        scaled = theta.clone()
        scaled[2:] *= torch.tensor(term_factorials(order), dtype=torch.float64)
        code = invariant_margin(TaylorGLOLoss(theta, form="code"), 10)
        assert invariant_margin(TaylorGLOLoss(scaled, form="eq5"), 10) == pytest.approx(code)


def test_the_published_mnist_loss_holds_it() -> None:
    # Found by the authors' MNIST run, which had the check on (experiments/gloTaylor/MNIST.json).
    assert invariant_violation(TaylorGLOLoss(TAYLORGLO_MNIST_THETA), 10) is None


def test_a_violation_says_why_in_one_line() -> None:
    reason = invariant_violation(TaylorGLOLoss([0, 0, 1.0, 0, 0, 0, 0, 0]), 10)  # 1 - 9 * 1 < 0
    assert reason is not None and "invariant on 10 classes" in reason and "\n" not in reason


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match=r"\[P\] theta"):
        invariant_margin(TaylorGLOLoss(torch.zeros(2, 8)), 10)
    with pytest.raises(ValueError, match="`n_classes` must be at least 2"):
        invariant_margin(TaylorGLOLoss(torch.zeros(8)), 1)
