"""TaylorGLO's loss parameterization (Gonzalez & Miikkulainen, TaylorGLO, sections 3-4).

A loss whose ``f`` is a k-th order bivariate Taylor polynomial in ``(x, y)`` around a learned
centre ``(theta_0, theta_1)`` (TaylorGLO eq. 3). Every term with ``b = 0`` has a zero derivative
in ``y`` and cannot change what a network learns, so it is trimmed (TaylorGLO section 4, the step
from eq. 4 to eq. 5). What remains are the terms with ``1 <= b`` and ``a + b <= k``:
``k (k + 1) / 2`` coefficients plus the two centre coordinates, in eq. 5's order. At ``k = 3``::

    theta_2 (y-t1) + theta_3/2 (y-t1)^2 + theta_4/6 (y-t1)^3 + theta_5 (x-t0)(y-t1)
    + theta_6/2 (x-t0)(y-t1)^2 + theta_7/2 (x-t0)^2 (y-t1)

Two forms of the same polynomial (``form=``):

* ``"eq5"``: as printed, ``L = -(1/n) * sum_i f(x_i, y_i)`` with ``f``'s terms divided by
  ``alpha! = a! b!`` (eq. 3-5).
* ``"code"``: as the authors' released code computes it (cognizant-ai-labs/TaylorGLO: the loss
  string is built with ``parametersIncludeFactorial: true`` in
  ``TaylorGLOGenerationStarter.swift``, and ``LossferatuLoss`` takes the batch mean of ``-sum``
  over the classes): no ``1/alpha!`` and no ``1/n``, ``L = -sum_i f(x_i, y_i)``. Eq. 4's remark
  allows the first ("the reciprocal-factorial coefficients can be integrated"); the second is not
  in the paper. Exactly ``code(theta) = n * eq5(alpha! * theta)``.

The published thetas (appendix C) were found, and are meant, in the ``"code"`` form, so that is
the default (:data:`DEFAULT_TAYLOR_FORM`). The polynomial has no poles: no domain guard is needed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from optuna_glo.losses._base import PointwiseLoss

#: The forms of a TaylorGLO loss (module docstring): the authors' released code, and eq. 5 as
#: printed.
TAYLOR_FORMS = ("code", "eq5")

#: The form of searches and of the published thetas: the authors found TaylorGLO appendix C's theta
#: with their code, whose loss has no ``1/alpha!`` and no ``1/n``. Read in eq. 5's form the same
#: numbers give a loss of about 1/20 the gradient and another shape (binary-view minimum at
#: y0 = 0.88 instead of 0.82), so only this form reproduces the paper's losses.
DEFAULT_TAYLOR_FORM = "code"


def check_taylor_form(form: str) -> str:
    """``form`` if it is one of :data:`TAYLOR_FORMS`; else a ``ValueError`` naming the choices."""
    if form not in TAYLOR_FORMS:
        raise ValueError(
            f"`form` must be one of {TAYLOR_FORMS} (the authors' code, or eq. 5 as printed). "
            f"The specified `form` is {form!r}."
        )
    return form


def taylor_terms(order: int) -> list[tuple[int, int]]:
    """The kept terms ``(a, b)`` (powers of ``x - theta_0`` and ``y - theta_1``), in eq. 5's order.

    Ordered by ``a``, then ``b``; ``b >= 1`` for every term (TaylorGLO section 4 trimming).
    """
    if not isinstance(order, int) or isinstance(order, bool) or order < 1:
        raise ValueError(
            f"`order` must be an integer greater than or equal to 1. The specified `order` is "
            f"{order!r}."
        )
    return [(a, b) for a in range(order) for b in range(1, order + 1 - a)]


def n_taylor_params(order: int) -> int:
    """Number of parameters of an order-``k`` TaylorGLO loss: ``2 + k (k + 1) / 2``."""
    return 2 + len(taylor_terms(order))


def order_from_n_params(n_params: int) -> int:
    """Inverse of :func:`n_taylor_params`; raises ``ValueError`` for an impossible count."""
    order = 1
    while n_taylor_params(order) < n_params:
        order += 1
    if n_taylor_params(order) != n_params:
        valid = ", ".join(str(n_taylor_params(k)) for k in range(1, 6))
        raise ValueError(
            f"A TaylorGLO parameter vector must have 2 + k(k+1)/2 entries ({valid}, ...). "
            f"The given one has {n_params}."
        )
    return order


def term_factorials(order: int) -> list[int]:
    """``alpha! = a! b!`` of each kept term of :func:`taylor_terms`: eq. 3's divisors."""
    return [math.factorial(a) * math.factorial(b) for a, b in taylor_terms(order)]


def taylor_pointwise(
    x: torch.Tensor, y: torch.Tensor, theta: torch.Tensor, *, form: str = DEFAULT_TAYLOR_FORM
) -> torch.Tensor:
    """``f(x, y)`` of a TaylorGLO loss (eq. 5 generalized to any order), elementwise.

    Args:
        x: One-hot labels, shape ``[..., B, C]``.
        y: Predicted probabilities, the shape of ``x``.
        theta: Parameters ``[P]`` for one loss, or ``[M, P]`` for a population whose ``x``/``y``
            have shape ``[M, B, C]`` (one loss per model).
        form: ``"code"`` (coefficients used as they are) or ``"eq5"`` (each divided by
            ``a! b!``); see the module docstring.
    """
    check_taylor_form(form)
    order = order_from_n_params(theta.shape[-1])
    if theta.dim() > 1:
        if theta.shape[:-1] != x.shape[: theta.dim() - 1]:
            raise ValueError(
                f"A population `theta` of shape {tuple(theta.shape)} needs inputs of shape "
                f"[{theta.shape[0]}, B, C]. The given inputs have shape {tuple(x.shape)}."
            )
        # [M, P] -> P tensors of shape [M, 1, 1] that broadcast against [M, B, C].
        theta = theta.reshape(*theta.shape[:-1], *([1] * (x.dim() - theta.dim() + 1)), -1)
    coeffs = theta.unbind(-1)
    dx = x - coeffs[0]
    dy = y - coeffs[1]
    dx_pows = [torch.ones_like(dx), dx]
    dy_pows = [torch.ones_like(dy), dy]
    for _ in range(2, order + 1):
        dx_pows.append(dx_pows[-1] * dx)
        dy_pows.append(dy_pows[-1] * dy)
    out = torch.zeros_like(y)
    for coeff, (a, b), divisor in zip(
        coeffs[2:], taylor_terms(order), term_factorials(order), strict=True
    ):
        if form == "eq5":  # Equation (3): theta_ab / (a! b!) * (x - theta_0)^a * (y - theta_1)^b.
            coeff = coeff * (1.0 / divisor)
        out = out + coeff * dx_pows[a] * dy_pows[b]
    return out


class TaylorGLOLoss(PointwiseLoss):
    """A TaylorGLO loss (TaylorGLO eq. 5, any order), a drop-in for ``nn.CrossEntropyLoss``.

    Args:
        theta: ``[P]`` parameters, or ``[M, P]`` for a population of ``M`` losses evaluated in one
            call on logits of shape ``[M, B, C]`` (returning ``M`` losses).
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``, over the batch.
        form: ``"code"`` (default: the authors' released code, ``L = -sum_i f`` without
            ``1/alpha!``, the form the published thetas were found in) or ``"eq5"`` (as printed,
            ``L = -(1/n) sum_i f`` with ``1/alpha!``). See the module docstring.
    """

    theta: torch.Tensor

    def __init__(
        self,
        theta: torch.Tensor | Sequence[float],
        *,
        reduction: str = "mean",
        form: str = DEFAULT_TAYLOR_FORM,
    ) -> None:
        super().__init__(reduction)
        self.form = check_taylor_form(form)
        theta_t = torch.as_tensor(theta, dtype=torch.get_default_dtype())
        if theta_t.dim() not in (1, 2):
            raise ValueError(
                f"`theta` must have shape [P] or [M, P]. The given `theta` has shape "
                f"{tuple(theta_t.shape)}."
            )
        if not torch.isfinite(theta_t).all():
            raise ValueError(f"`theta` must be finite. The given `theta` is {theta_t.tolist()}.")
        self.order = order_from_n_params(theta_t.shape[-1])
        # A buffer, not a parameter: the loss moves with `.to(device)` but is never trained.
        self.register_buffer("theta", theta_t)

    def pointwise(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return taylor_pointwise(x, y, self.theta.to(y.dtype), form=self.form)

    def combine_classes(self, f: torch.Tensor) -> torch.Tensor:
        # The authors' trainer sums f over the classes (no 1/n); eq. 5 averages.
        return f.sum(dim=-1) if self.form == "code" else f.mean(dim=-1)

    def formula(self) -> str:
        if self.theta.dim() != 1:
            return (
                f"TaylorGLO order {self.order} ({self.form} form), population of "
                f"{self.theta.shape[0]}"
            )
        return taylor_formula(self.theta.tolist(), form=self.form)

    def extra_repr(self) -> str:
        return (
            f"order={self.order}, form={self.form!r}, theta_shape={tuple(self.theta.shape)}, "
            + super().extra_repr()
        )


def taylor_formula(
    theta: Sequence[float], digits: int = 4, *, form: str = DEFAULT_TAYLOR_FORM
) -> str:
    """A readable ``L(x, y) = -sum_i [...]`` (``"code"``) or ``-(1/n) * sum_i [...]`` (``"eq5"``)
    with the terms' effective coefficients (eq. 5's ``theta / (a! b!)`` in the ``"eq5"`` form)."""
    check_taylor_form(form)
    order = order_from_n_params(len(theta))
    t0, t1 = theta[0], theta[1]

    def shifted(var: str, centre: float) -> str:
        sign = "-" if centre >= 0 else "+"
        return f"({var} {sign} {abs(centre):.{digits}g})"

    parts = []
    for coeff, (a, b), divisor in zip(
        theta[2:], taylor_terms(order), term_factorials(order), strict=True
    ):
        c = coeff / divisor if form == "eq5" else coeff
        factors = []
        if a:
            factors.append(shifted("x", t0) + (f"^{a}" if a > 1 else ""))
        factors.append(shifted("y", t1) + (f"^{b}" if b > 1 else ""))
        parts.append((c, "*".join(factors)))
    body = ""
    for i, (c, term) in enumerate(parts):
        sign = "-" if c < 0 else "+"
        if i == 0:
            body += f"{'-' if c < 0 else ''}{abs(c):.{digits}g}*{term}"
        else:
            body += f" {sign} {abs(c):.{digits}g}*{term}"
    outer = "-(1/n) * sum_i" if form == "eq5" else "-sum_i"
    return f"L(x, y) = {outer} [{body}]"
