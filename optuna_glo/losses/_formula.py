"""One readable formula per loss, for every output: terminal, dashboard notes, plots, exports.

``loss.formula()`` is exact (every digit, the paper's shifted form); :func:`readable_formula` is
for people:

* coefficients rounded to 4 significant digits, ``a - 2·b`` rather than ``a + (-2)*b``;
* terms that cannot change the gradient left out: those without ``y`` (constant for the network)
  and ``c·y`` (``sum_i c y_i = c``, since the softmax outputs sum to 1);
* TaylorGLO written as a plain polynomial in ``x`` and ``y`` where that is shorter than eq. 5's
  shifted form (it is unless most coefficients are zero);
* GLO trees through :func:`~optuna_glo.losses.trees.readable_tree`.

:data:`~optuna_glo.losses._notation.FORMULA_LEGEND` says what ``xᵢ``, ``yᵢ`` and ``n`` are.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from optuna_glo.losses._named import Baikal, BaikalCMA, CrossEntropy
from optuna_glo.losses._notation import FORMULA_LEGEND, X_NAME, Y_NAME, format_number, power
from optuna_glo.losses._taylor import TaylorGLOLoss
from optuna_glo.losses.trees import Node, TreeLoss, parse, readable_tree

#: The readable formula of the baseline (it has no ``1/n``: see ``CrossEntropy``).
CROSS_ENTROPY_FORMULA = f"L(x, y) = -Σᵢ {X_NAME}·log({Y_NAME})"


def readable_formula(loss: nn.Module, *, digits: int = 4, legend: bool = False) -> str:
    """The loss as readable math, ``L(x, y) = -(1/n) Σᵢ [...]`` (see the module docstring).

    Args:
        loss: A loss of this project; another module gets its ``formula()`` or its class name.
        digits: Significant digits of every coefficient.
        legend: Add a second line saying what ``xᵢ``, ``yᵢ`` and ``n`` are.
    """
    text = _formula(loss, digits)
    return f"{text}\n{FORMULA_LEGEND}" if legend else text


def _formula(loss: nn.Module, digits: int) -> str:
    if isinstance(loss, CrossEntropy):
        return CROSS_ENTROPY_FORMULA
    tree = _tree_of(loss)
    if tree is not None:
        return f"L(x, y) = -(1/n) Σᵢ [{readable_tree(tree, digits=digits)}]"
    if isinstance(loss, TaylorGLOLoss) and loss.theta.dim() == 1:
        body = _taylor_body(loss, digits)
        if body is not None:
            # The authors' code form sums over the classes; eq. 5 averages (losses._taylor).
            outer = "-Σᵢ" if loss.form == "code" else "-(1/n) Σᵢ"
            return f"L(x, y) = {outer} [{body}]"
    formula = getattr(loss, "formula", None)
    return str(formula()) if callable(formula) else type(loss).__name__


def _tree_of(loss: nn.Module) -> Node | None:
    if isinstance(loss, TreeLoss):
        return loss.tree
    if isinstance(loss, Baikal):
        return parse("log(y) - x / y")  # GLO eq. (1)
    if isinstance(loss, BaikalCMA):
        c0, c1, c2, c3, c4, c5 = (repr(c) for c in loss.coefficients)
        return parse(f"{{{c0}}}({{{c1}}}log({{{c2}}}y) - {{{c3}}}({{{c4}}}x / {{{c5}}}y))")  # eq. 2
    return None


# ------------------------------------------------------------------------------------ TaylorGLO


def polynomial_coefficients(loss: TaylorGLOLoss) -> np.ndarray | None:
    """``P[a, b]``: the coefficient of ``x^a y^b`` in the loss's ``f`` (TaylorGLO eq. 3 expanded).

    Read from ``loss.pointwise`` itself (exact for a polynomial of degree ``loss.order``: its
    values on a ``(k+1) x (k+1)`` grid, through the Vandermonde matrix), so it holds whichever
    way the loss writes its polynomial. ``None`` if the loss is not such a polynomial.
    """
    k = loss.order
    nodes = np.arange(k + 1, dtype=np.float64) - k / 2
    vander = np.vander(nodes, k + 1, increasing=True)  # vander[i, a] = nodes[i] ** a
    values = _values(loss, *np.meshgrid(nodes, nodes, indexing="ij"))
    coefficients = np.linalg.solve(vander, np.linalg.solve(vander, values).T).T
    scale = 1.0 + float(np.abs(values).max())
    checks = np.array([0.0, 1.0, 0.3]), np.array([0.9, 0.05, 0.6])
    expected = np.polynomial.polynomial.polyval2d(*checks, coefficients)
    if not np.allclose(_values(loss, *checks), expected, rtol=0.0, atol=1e-8 * scale):
        return None
    coefficients[np.abs(coefficients) < 1e-11 * scale] = 0.0
    return coefficients


def _values(loss: TaylorGLOLoss, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        out = loss.pointwise(torch.as_tensor(x), torch.as_tensor(y))
    return out.to(torch.float64).numpy()


def _taylor_body(loss: TaylorGLOLoss, digits: int) -> str | None:
    coefficients = polynomial_coefficients(loss)
    if coefficients is None:
        return None
    k = loss.order
    terms = [(a, b) for a in range(k + 1) for b in range(k + 1 - a)]
    expanded = readable_tree(_polynomial_tree(coefficients, terms), digits=digits)
    t0, t1 = (float(t) for t in loss.theta[:2])
    shifted = _shifted_text(coefficients, terms, t0, t1, digits)
    return shifted if shifted is not None and len(shifted) < len(expanded) else expanded


def _polynomial_tree(coefficients: np.ndarray, terms: list[tuple[int, int]]) -> Node:
    """``sum P[a, b] x^a y^b`` as a tree, terms in eq. 5's order (by ``a``, then ``b``)."""
    tree: Node | None = None
    scale = float(np.abs(coefficients).max())
    for a, b in terms:
        c = float(coefficients[a, b])
        if c == 0.0 or abs(c) <= _RESIDUE * scale:
            continue
        factors = [Node("x")] * a + [Node("y")] * b
        term = factors[0] if factors else Node("const", value=1)
        for factor in factors[1:]:
            term = Node("*", (term, factor))
        term = Node(term.op, term.children, term.value, c)
        tree = term if tree is None else Node("+", (tree, term))
    return tree if tree is not None else Node("const")


def _shifted_text(
    coefficients: np.ndarray, terms: list[tuple[int, int]], t0: float, t1: float, digits: int
) -> str | None:
    """eq. 5's form ``c (x - t0)^a (y - t1)^b`` with the terms that reach the gradient only.

    The coefficients are the Taylor coefficients of the polynomial at ``(t0, t1)``; the terms
    without ``y`` and the term ``c (y - t1)`` (a constant after the sum over classes) are left out.
    """
    k = coefficients.shape[0] - 1
    scale = float(np.abs(coefficients).max()) * max(1.0, abs(t0), abs(t1)) ** k
    text = ""
    for a, b in terms:
        if b == 0 or (a, b) == (0, 1):
            continue
        c = sum(
            float(coefficients[i, j]) * math.comb(i, a) * math.comb(j, b)
            * t0 ** (i - a) * t1 ** (j - b)
            for i in range(a, k + 1) for j in range(b, k + 1 - i)
        )
        number = format_number(abs(c), digits)
        # A Taylor coefficient that the shift cancels comes out as rounding residue (1e-15 of
        # the others), not as an exact zero: it is left out like one.
        if float(number) == 0.0 or abs(c) <= _RESIDUE * scale:
            continue
        factors = [power(_shift(X_NAME, t0, digits), a)] if a else []
        factors.append(power(_shift(Y_NAME, t1, digits), b))
        term = "·".join(factors if number == "1" else [number, *factors])
        if not text:
            text = f"-{term}" if c < 0 else term
        else:
            text += f" - {term}" if c < 0 else f" + {term}"
    return text or None


#: Relative size below which a shifted coefficient is float residue (float64 has 16 digits).
_RESIDUE = 1e-12


def _shift(name: str, centre: float, digits: int) -> str:
    number = format_number(abs(centre), digits)
    if float(number) == 0.0:
        return name
    return f"({name} {'-' if centre > 0 else '+'} {number})"
