"""Canonical forms of loss trees, so equal functions share one fitness-cache entry.

GLO III-A: "Fitness values are cached ... associated with a canonicalized version of their
corresponding tree, resulting in fewer required evaluations."

Strength chosen: a polynomial normal form that is *exact under the guarded semantics* of the
compiled loss. A tree is rewritten as a sum of monomials with exact rational coefficients over
opaque atoms ``x``, ``y``, ``log(u)``, ``sqrt(u)`` and ``1/u`` (each ``u`` canonical in turn). So:

* ``+`` and ``*`` are commutative and associative; ``a - b`` is ``a + (-1) b``; ``a^2`` is ``a a``;
* products distribute over sums (``3 (5x + 2y) = 15x + 6y``) while the expansion has at most
  :data:`MAX_EXPANDED_TERMS` terms; a larger product stays a product of sums;
* like terms are collected (``x + x = 2x``, ``y - y = 0``) and constants fold, through the same
  guards the compiled loss uses (``log(1) = 0``, ``1/0 = 1/EPS``, ``sqrt(-1) = sqrt(EPS)``).

Identities that hold for real numbers but not for the guarded ``log``/``sqrt``/``/`` are *not*
applied: ``x / x`` is not 1 (it is 0 where ``x = 0``), ``log(a b)`` is not ``log a + log b``,
``y / (2x)`` is not ``(1/2)(y / x)``. Two trees with one key therefore compute the same function
(up to float rounding); some equal functions still get two keys, which costs a training run, never
a wrong fitness. sympy is not used: its simplifications assume the unguarded domains, and it is
slow and not always deterministic in the form it returns.

The fitness cache goes one step further (:func:`~optuna_glo.losses.trees.fitness_key`): it keys a
tree by the canonical form of its terms that reach the gradient, leaving out the terms without
``y`` and the terms ``c * y`` (:func:`split_inert_terms`), which cannot change the trained network.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

from optuna_glo.losses._base import EPS
from optuna_glo.losses.trees._nodes import CONST, Node, const, format_tree, with_coefficient

#: Largest expansion of a product of sums; a bigger product is kept as a product of sums.
MAX_EXPANDED_TERMS = 32

#: An exact rational, or a float where a folded constant is irrational (``log(2)``).
Coefficient = Fraction | float


@dataclass(frozen=True, order=True)
class Atom:
    """A factor the normal form treats as opaque: ``x``, ``y``, ``log(u)``, ``sqrt(u)``, ``1/u``,
    or a sum kept unexpanded. Atoms compare and hash by their text ``key``."""

    key: str
    node: Node = field(compare=False)
    has_y: bool = field(compare=False)


#: A product of atoms with their powers, sorted by atom key.
Monomial = tuple[tuple[Atom, int], ...]
#: A sum of monomials with nonzero coefficients.
Polynomial = dict[Monomial, Coefficient]

_X = Atom("x", Node("x"), False)
_Y = Atom("y", Node("y"), True)


#: Exact rationals whose numerator or denominator outgrow this many bits become floats, so that a
#: tower of squares such as ``((2^2)^2)^2...`` cannot make the arithmetic explode.
_MAX_EXACT_BITS = 1024


def _coefficient(value: float) -> Coefficient:
    return Fraction(value) if math.isfinite(value) else value


def _bounded(c: Coefficient) -> Coefficient:
    if isinstance(c, Fraction) and max(c.numerator.bit_length(), c.denominator.bit_length()) > (
        _MAX_EXACT_BITS
    ):
        try:
            return float(c)
        except OverflowError:
            return math.inf if c > 0 else -math.inf
    return c


def _constant(poly: Polynomial) -> Coefficient | None:
    """The value of a constant polynomial, or ``None`` if it has a variable."""
    if not poly:
        return Fraction(0)
    if len(poly) == 1 and () in poly:
        return poly[()]
    return None


def _const_poly(value: Coefficient) -> Polynomial:
    return {(): value} if value != 0 else {}


def _scale(poly: Polynomial, factor: Coefficient) -> Polynomial:
    if factor == 0:
        return {}
    scaled = {m: _bounded(c * factor) for m, c in poly.items()}
    return {m: c for m, c in scaled.items() if c != 0}


def _add(a: Polynomial, b: Polynomial) -> Polynomial:
    out = dict(a)
    for m, c in b.items():
        total = _bounded(out.get(m, 0) + c)
        if total == 0:
            out.pop(m, None)
        else:
            out[m] = total
    return out


def _mul_monomials(a: Monomial, b: Monomial) -> Monomial:
    powers: dict[Atom, int] = {}
    for atom, p in (*a, *b):
        powers[atom] = powers.get(atom, 0) + p
    return tuple(sorted(powers.items(), key=lambda item: item[0].key))


def _as_factor(poly: Polynomial) -> Polynomial:
    """A sum of several terms as one opaque atom (used when a product is too big to expand)."""
    if len(poly) <= 1:
        return poly
    node = polynomial_to_tree(poly)
    atom = Atom(f"({format_tree(node)})", node, _poly_has_y(poly))
    return {((atom, 1),): Fraction(1)}


def _mul(a: Polynomial, b: Polynomial) -> Polynomial:
    if len(a) * len(b) > MAX_EXPANDED_TERMS:
        a, b = _as_factor(a), _as_factor(b)
    out: Polynomial = {}
    for ma, ca in a.items():
        for mb, cb in b.items():
            out = _add(out, {_mul_monomials(ma, mb): _bounded(ca * cb)})
    return out


def _poly_has_y(poly: Polynomial) -> bool:
    return any(atom.has_y for m in poly for atom, _ in m)


def _fold(op: str, value: Coefficient) -> Coefficient:
    """``log``, ``sqrt`` or ``1/.`` of a constant, through the compiled loss's guards."""
    v = float(value)
    if op == "log":
        if value == 1:
            return Fraction(0)
        return _coefficient(math.log(max(v, EPS)))
    if op == "sqrt":
        if isinstance(value, Fraction) and value >= EPS:
            num, den = math.isqrt(value.numerator), math.isqrt(value.denominator)
            if Fraction(num * num, den * den) == value:
                return Fraction(num, den)
        return _coefficient(math.sqrt(max(v, EPS)))
    # Division: safe_div keeps |b| >= EPS with the sign of b (0 counts as +).
    if abs(v) < EPS:
        return _coefficient(1.0 / (-EPS if v < 0 else EPS))
    return 1 / value if isinstance(value, Fraction) else _coefficient(1.0 / v)


def _atom_poly(op: str, inner: Polynomial) -> Polynomial:
    folded = _constant(inner)
    if folded is not None:
        return _const_poly(_fold(op, folded))
    inner_node = polynomial_to_tree(inner)
    node = Node("/", (const(1), inner_node)) if op == "inv" else Node(op, (inner_node,))
    key = f"1/({format_tree(inner_node)})" if op == "inv" else format_tree(node)
    return {((Atom(key, node, _poly_has_y(inner)), 1),): Fraction(1)}


def canonical_polynomial(tree: Node) -> Polynomial:
    """``tree`` as a polynomial over opaque atoms (see the module docstring)."""
    op = tree.op
    if op == "x":
        poly: Polynomial = {((_X, 1),): Fraction(1)}
    elif op == "y":
        poly = {((_Y, 1),): Fraction(1)}
    elif op == CONST:
        poly = _const_poly(Fraction(tree.value))
    else:
        args = [canonical_polynomial(child) for child in tree.children]
        if op == "+":
            poly = _add(args[0], args[1])
        elif op == "-":
            poly = _add(args[0], _scale(args[1], Fraction(-1)))
        elif op == "*":
            poly = _mul(args[0], args[1])
        elif op == "sq":
            poly = _mul(args[0], args[0])
        elif op == "/":
            poly = _mul(args[0], _atom_poly("inv", args[1]))
        else:  # log, sqrt
            poly = _atom_poly(op, args[0])
    if tree.coefficient != 1.0:
        poly = _scale(poly, _coefficient(tree.coefficient))
    return poly


def _power(node: Node, p: int) -> Node:
    if p == 1:
        return node
    if p % 2 == 0:
        return Node("sq", (_power(node, p // 2),))
    return Node("*", (_power(node, p - 1), node))


def _is_integer(c: Coefficient) -> bool:
    """Whether ``c`` is written as an integer: decided on the float that would be written, so that
    canonicalizing the canonical tree again reads back the same coefficient."""
    value = float(c)
    return value.is_integer() and abs(value) < 2**53


def _term(monomial: Monomial, c: Coefficient) -> Node:
    """``c * monomial`` as a tree: ``3 * log(y) / x``, ``-1 * y``, ``{0.69}x``, ``-2``."""
    numerator: Node | None = None
    denominators: list[Node] = []
    for atom, p in monomial:
        if p == 1 and atom.key.startswith("1/("):
            denominators.append(atom.node.children[1])  # `* (1/u)` is written `/ u`
            continue
        factor = _power(atom.node, p)
        numerator = factor if numerator is None else Node("*", (numerator, factor))
    integer = _is_integer(c)
    if numerator is None:
        numerator = const(int(float(c))) if integer else const(1)
    elif integer and float(c) != 1.0:
        numerator = Node("*", (const(int(float(c))), numerator))
    tree = numerator
    for denominator in denominators:
        tree = Node("/", (tree, denominator))
    if integer:
        return tree
    if tree.coefficient != 1.0:  # pragma: no cover - atoms are built with coefficient 1
        tree = Node("*", (const(1), tree))
    return with_coefficient(tree, float(c))


def _monomial_key(item: tuple[Monomial, Coefficient]) -> tuple[int, list[tuple[str, int]]]:
    monomial = item[0]
    return (0 if monomial else 1, [(atom.key, p) for atom, p in monomial])


def polynomial_to_tree(poly: Polynomial) -> Node:
    """The tree of a polynomial: terms in a fixed order, constant last, signs as ``-``."""
    # A coefficient too small for a float (below 1e-308) is written as nothing: the term is 0.
    terms = sorted(((m, c) for m, c in poly.items() if float(c) != 0.0), key=_monomial_key)
    if not terms:
        return const(0)
    tree: Node | None = None
    for monomial, c in terms:
        if tree is None:
            tree = _term(monomial, c)
        elif c < 0:
            tree = Node("-", (tree, _term(monomial, -c)))
        else:
            tree = Node("+", (tree, _term(monomial, c)))
    assert tree is not None
    return tree


def canonicalize(tree: Node) -> Node:
    """The canonical tree of ``tree``: the same function, written one fixed way.

    A tree whose folded constants overflow a float (no finite coefficient can write them) is its
    own canonical form.
    """
    try:
        return polynomial_to_tree(canonical_polynomial(tree))
    except (ValueError, OverflowError):
        return tree


def canonical_key(tree: Node) -> str:
    """The fitness-cache key of ``tree``: the text of :func:`canonicalize`."""
    return format_tree(canonicalize(tree))


def split_inert_terms(poly: Polynomial) -> tuple[Polynomial, Polynomial]:
    """``(active, inert)``: the terms that reach the gradient, and those that cannot.

    Inert are the terms without ``y`` (constant for the network) and ``c * y`` (it adds
    ``-(c/n) sum_i y_i = -c/n`` to the loss, a constant since the softmax outputs sum to 1).
    """
    active: Polynomial = {}
    inert: Polynomial = {}
    for monomial, c in poly.items():
        is_inert = monomial == ((_Y, 1),) or not any(atom.has_y for atom, _ in monomial)
        (inert if is_inert else active)[monomial] = c
    return active, inert


def prediction_dependence(tree: Node) -> str:
    """How the canonical form of ``tree`` depends on ``y``.

    Returns:
        ``"none"`` (no ``y`` left after canonicalization), ``"linear"`` (only terms ``c * y``) or
        ``"nonlinear"``.
    """
    try:
        poly = canonical_polynomial(tree)
    except (ValueError, OverflowError):
        return "nonlinear"  # overflowing constants: leave it to the numeric checks
    y_terms = [m for m in poly if any(atom.has_y for atom, _ in m)]
    if not y_terms:
        return "none"
    if all(m == ((_Y, 1),) for m in y_terms):
        return "linear"
    return "nonlinear"
