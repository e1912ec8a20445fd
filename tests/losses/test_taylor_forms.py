"""The two forms of a TaylorGLO loss: the authors' released code, and eq. 5 as printed."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
import torch

from optuna_glo.keys import THETA_BOUNDS
from optuna_glo.losses import (
    TAYLORGLO_MNIST_THETA,
    TaylorGLOLoss,
    binary_view,
    get_loss,
    n_taylor_params,
    taylor_terms,
    term_factorials,
)


def authors_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """TaylorGLO appendix C's loss written out as the authors' code builds it.

    ``Taylor+StringRepresentation.swift`` with ``parametersIncludeFactorial: true`` writes one
    term ``coefficient * (x - c0)^a * (y - c1)^b`` per kept partial, in the multi-index order
    (0,1), (0,2), (0,3), (1,1), (1,2), (2,1); ``LossferatuLoss`` returns
    ``mean(-sum(f, classes))``.
    """
    c0, c1, k01, k02, k03, k11, k12, k21 = TAYLORGLO_MNIST_THETA
    x = torch.nn.functional.one_hot(target, logits.shape[-1]).to(logits.dtype)
    y = torch.softmax(logits, dim=-1)
    dx, dy = x - c0, y - c1
    f = (
        k01 * dy + k02 * dy**2 + k03 * dy**3
        + k11 * dx * dy + k12 * dx * dy**2 + k21 * dx**2 * dy
    )
    return torch.mean(-torch.sum(f, dim=1))


def authors_logit_gradient(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The gradient of :func:`authors_loss` by hand: ``g = df/dy``, then through the softmax."""
    c0, c1, k01, k02, k03, k11, k12, k21 = TAYLORGLO_MNIST_THETA
    x = torch.nn.functional.one_hot(target, logits.shape[-1]).to(logits.dtype)
    y = torch.softmax(logits, dim=-1)
    dx, dy = x - c0, y - c1
    g = k01 + 2 * k02 * dy + 3 * k03 * dy**2 + k11 * dx + 2 * k12 * dx * dy + k21 * dx**2
    # dL/dz_j = -(1/B) * y_j * (g_j - sum_i y_i g_i)  (softmax Jacobian: y_i (delta_ij - y_j)).
    return -(y * (g - (y * g).sum(dim=-1, keepdim=True))) / logits.shape[0]


def test_taylorglo_mnist_is_the_authors_loss_in_value_and_gradient() -> None:
    torch.manual_seed(0)
    logits = (torch.randn(32, 10, dtype=torch.float64) * 3).requires_grad_()
    target = torch.randint(0, 10, (32,))
    loss = get_loss("taylorglo_mnist").double()
    value = loss(logits, target)
    value.backward()
    torch.testing.assert_close(value, authors_loss(logits.detach(), target))
    assert logits.grad is not None
    torch.testing.assert_close(logits.grad, authors_logit_gradient(logits.detach(), target))


@pytest.fixture
def float64() -> Iterator[None]:
    """Losses keep theta in the default dtype: make it float64 to check identities to 1e-11."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("order", [2, 3, 4])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_code_form_is_n_times_eq5_at_factorial_scaled_theta(order: int, reduction: str) -> None:
    # authors(theta) = n * eq5(alpha! * theta): alpha! = a! b! scales the coefficients only.
    g = torch.Generator().manual_seed(order)
    for n_classes in (2, 10):
        theta = torch.randn(n_taylor_params(order), generator=g, dtype=torch.float64) * 4
        scaled = theta.clone()
        scaled[2:] *= torch.tensor(term_factorials(order), dtype=torch.float64)
        logits = (torch.randn(16, n_classes, generator=g, dtype=torch.float64) * 2)
        logits.requires_grad_()
        target = torch.randint(0, n_classes, (16,), generator=g)
        code = TaylorGLOLoss(theta, reduction=reduction, form="code")(logits, target)
        eq5 = TaylorGLOLoss(scaled, reduction=reduction, form="eq5")(logits, target)
        torch.testing.assert_close(code, n_classes * eq5, rtol=1e-11, atol=1e-11)
        (code_grad,) = torch.autograd.grad(code.sum(), logits)
        (eq5_grad,) = torch.autograd.grad(eq5.sum(), logits)
        torch.testing.assert_close(code_grad, n_classes * eq5_grad, rtol=1e-11, atol=1e-11)


def test_term_factorials_are_a_factorial_times_b_factorial() -> None:
    assert term_factorials(3) == [1, 2, 6, 1, 2, 2]  # eq. 5's 1, 1/2, 1/6, 1, 1/2, 1/2
    assert term_factorials(4) == [math.factorial(a) * math.factorial(b) for a, b in taylor_terms(4)]


@pytest.mark.parametrize(("form", "minimum"), [("code", 0.824), ("eq5", 0.878)])
def test_binary_view_minimum_of_the_published_theta(form: str, minimum: float) -> None:
    # TaylorGLO section 6.1 / Fig. 3: the evolved losses have "a shallow minimum around
    # y0 = 0.8". The authors' form puts appendix C's minimum at 0.824; eq. 5's reading at 0.878.
    y0 = torch.linspace(0.001, 0.999, 9_981, dtype=torch.float64)
    values = binary_view(TaylorGLOLoss(TAYLORGLO_MNIST_THETA, form=form), y0)
    assert y0[values.argmin()].item() == pytest.approx(minimum, abs=0.001)


def test_default_form_is_the_authors_code() -> None:
    assert TaylorGLOLoss(TAYLORGLO_MNIST_THETA).form == "code"
    assert get_loss("taylorglo_mnist").form == "code"


def test_code_form_formula_has_the_raw_coefficients_and_no_one_over_n() -> None:
    text = TaylorGLOLoss([0.0, 1.0, 2.0, 3.0, 6.0, 0, 0, 0], form="code").formula()
    assert text.startswith("L(x, y) = -sum_i [2*(y - 1) + 3*(y - 1)^2 + 6*(y - 1)^3")
    eq5 = TaylorGLOLoss([0.0, 1.0, 2.0, 3.0, 6.0, 0, 0, 0], form="eq5").formula()
    assert eq5.startswith("L(x, y) = -(1/n) * sum_i [2*(y - 1) + 1.5*(y - 1)^2 + 1*(y - 1)^3")


def test_unknown_form_is_a_one_line_error() -> None:
    with pytest.raises(ValueError, match=r"`form` must be one of .* The specified `form` is 'eq4'"):
        TaylorGLOLoss(TAYLORGLO_MNIST_THETA, form="eq4")


def test_default_bounds_hold_the_published_theta_in_the_default_form() -> None:
    # keys.THETA_BOUNDS: the searches' box; appendix C's theta is a "code"-form theta.
    low, high = THETA_BOUNDS
    assert all(low < v < high for v in TAYLORGLO_MNIST_THETA)
    # In the eq5 form the same loss needs n * a! b! times the coefficients: far outside the box.
    eq5 = [10 * f * v for f, v in zip(term_factorials(3), TAYLORGLO_MNIST_THETA[2:], strict=True)]
    assert max(abs(v) for v in eq5) > 250
