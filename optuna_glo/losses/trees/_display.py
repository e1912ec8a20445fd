"""Loss trees written for people: rounded, signs folded, gradient-free terms left out.

The text form (:func:`~optuna_glo.losses.trees.format_tree`) is exact and reads back; this form
is for reading only. It is the canonical polynomial (``_canonical``) of the tree after three
real-number identities that move constants out of the opaque atoms, ``log(c u) = log(c) + log(u)``
and ``sqrt(c u) = sqrt(c) sqrt(u)`` for ``c > 0``, and ``a / (c u) = (1/c) (a / u)``; then the terms
that cannot change the gradient (:func:`split_inert_terms`: no ``y``, or ``c * y``) are dropped,
coefficients are rounded and signs folded: GLO eq. (2)'s BaikalCMA,
``{2.7279}({0.9863}log({1.5352}y) - {-1.1135}({1.3716}x / {-0.8411}y))``, reads
``2.691·log(yᵢ) - 4.953·xᵢ/yᵢ``.

The identities do not hold under the guards where an argument is within ``EPS`` of 0 (see
``_canonical``), so this form is never used to compute or compare losses.
"""

from __future__ import annotations

import math
from fractions import Fraction

from optuna_glo.losses._notation import X_NAME, Y_NAME, format_number, power
from optuna_glo.losses.trees._canonical import (
    Atom,
    Monomial,
    Polynomial,
    canonical_polynomial,
    polynomial_to_tree,
    split_inert_terms,
)
from optuna_glo.losses.trees._nodes import Node, const, format_tree


def readable_tree(tree: Node, *, digits: int = 4) -> str:
    """``tree`` written for people (see the module docstring); its exact text if it cannot be.

    When no term reaches the gradient (an untrainable tree such as ``-1``), every term is shown.
    """
    try:
        poly = canonical_polynomial(_pull_constants(tree))
        active, _ = split_inert_terms(poly)
        return _polynomial_text(active or poly, digits)
    except (ValueError, OverflowError):  # constants beyond a float: no finite form to round
        return format_tree(tree)


def _constant_factor(tree: Node) -> tuple[float, Node] | None:
    """``(c, u)`` when ``tree`` is ``c * u`` with one monomial ``u`` that has a variable."""
    poly = canonical_polynomial(tree)
    if len(poly) != 1:
        return None
    ((monomial, c),) = poly.items()
    if not monomial:
        return None
    return float(c), polynomial_to_tree({monomial: Fraction(1)})


def _pull_constants(node: Node) -> Node:
    """``node`` with constant factors moved out of ``log``, ``sqrt`` and denominators."""
    children = tuple(_pull_constants(c) for c in node.children)
    op, coefficient = node.op, node.coefficient
    split = _constant_factor(children[-1]) if op in ("log", "sqrt", "/") else None
    if split is not None and split[0] != 1.0:
        c, rest = split
        if op == "log" and c > 0:
            parts = (const(1, math.log(c)), Node("log", (rest,)))
            return Node("+", parts, coefficient=coefficient)
        if op == "sqrt" and c > 0:
            return Node("sqrt", (rest,), coefficient=coefficient * math.sqrt(c))
        if op == "/":
            return Node("/", (children[0], rest), coefficient=coefficient / c)
    return Node(op, children, node.value, coefficient)


def _polynomial_text(poly: Polynomial, digits: int) -> str:
    """The terms in the order the tree has them (a constant last), ``a - b`` for ``a + (-b)``."""
    if not poly:
        return "0"
    text = ""
    for monomial, c in sorted(poly.items(), key=lambda item: not item[0]):
        value = float(c)
        term = _term_text(monomial, abs(value), digits)
        if not text:
            text = f"-{term}" if value < 0 else term
        else:
            text += f" - {term}" if value < 0 else f" + {term}"
    return text


def _term_text(monomial: Monomial, magnitude: float, digits: int) -> str:
    numerator: list[str] = []
    denominator: list[str] = []
    # Variables first, then log, sqrt and sums: 2·yᵢ·log(xᵢ).
    for atom, p in sorted(monomial, key=lambda item: (item[0].key not in ("x", "y"), item[0].key)):
        if atom.key.startswith("1/("):
            denominator.append(power(_factor_text(atom.node.children[1], digits), p))
        else:
            factor = _atom_text(atom, digits)
            if p > 1 and atom.node.op == "sqrt":
                factor = f"({factor})"  # (√yᵢ)², not √yᵢ²
            numerator.append(power(factor, p))
    number = format_number(magnitude, digits)
    factors = numerator if numerator and number == "1" else [number, *numerator]
    text = "·".join(factors)
    if denominator:
        below = "·".join(denominator)
        text += "/" + (f"({below})" if len(denominator) > 1 else below)
    return text


def _atom_text(atom: Atom, digits: int) -> str:
    if atom.key == "x":
        return X_NAME
    if atom.key == "y":
        return Y_NAME
    node = atom.node
    if node.op == "log":
        return f"log({_inner_text(node.children[0], digits)})"
    if node.op == "sqrt":
        return "√" + _factor_text(node.children[0], digits)
    return f"({_inner_text(node, digits)})"  # a sum too large to expand


def _inner_text(node: Node, digits: int) -> str:
    """An atom's argument: every term matters inside ``log``, ``sqrt`` or a denominator."""
    return _polynomial_text(canonical_polynomial(node), digits)


def _factor_text(node: Node, digits: int) -> str:
    """``node`` as a factor: bare when it is one variable or function, else in parentheses."""
    text = _inner_text(node, digits)
    poly = canonical_polynomial(node)
    if len(poly) == 1:
        ((monomial, c),) = poly.items()
        if c == 1 and len(monomial) == 1 and monomial[0][1] == 1:
            return text
    return f"({text})"
