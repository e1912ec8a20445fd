"""Loss expression trees: the nodes of GLO section III-A.

A tree is an immutable :class:`Node`. The node kinds are GLO's search space:

* unary operators ``log``, ``sq`` (square) and ``sqrt``;
* binary operators ``+``, ``*``, ``-`` and ``/``;
* leaves ``x`` (the true label), ``y`` (the predicted label) and integer constants (GLO's ``1``
  and ``-1``, which the integer mutation moves by one).

Every node carries a ``coefficient`` that multiplies its output: all 1 during loss discovery
(GLO III-B: "loss functions found by the above genetic algorithm can all be thought of having
unit coefficients for each node in the tree"), tuned by CMA-ES in the coefficient phase.

A position in a tree is a *path*: the tuple of child indices from the root (``()`` is the root).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

#: Path of a node: child indices from the root; ``()`` is the root.
Path = tuple[int, ...]

#: Unary operators (GLO III-A): ``log(a)``, ``a^2`` and ``sqrt(a)``.
UNARY_OPS = ("log", "sq", "sqrt")
#: Binary operators (GLO III-A).
BINARY_OPS = ("+", "*", "-", "/")
#: Variable leaves (GLO III-A): ``x`` is the true label, ``y`` the predicted label.
VARIABLES = ("x", "y")
#: The op of an integer-constant leaf; its integer is :attr:`Node.value`.
CONST = "const"

ARITY: dict[str, int] = {
    **{op: 1 for op in UNARY_OPS},
    **{op: 2 for op in BINARY_OPS},
    **{v: 0 for v in VARIABLES},
    CONST: 0,
}

#: Deepest tree accepted anywhere (parser, compiler): far beyond useful losses, far below Python's
#: recursion limit. Trees are data from a shared database, so their size is bounded.
MAX_TREE_DEPTH = 64


@dataclass(frozen=True, slots=True)
class Node:
    """One node of a loss expression tree (and, through its children, the whole tree).

    Attributes:
        op: One of :data:`UNARY_OPS`, :data:`BINARY_OPS`, :data:`VARIABLES` or :data:`CONST`.
        children: The operands: one for a unary op, two for a binary op, none for a leaf.
        value: The integer of a ``CONST`` leaf (0 for every other node).
        coefficient: A finite factor applied to the node's output (1 during discovery).
    """

    op: str
    children: tuple[Node, ...] = ()
    value: int = 0
    coefficient: float = 1.0

    def __post_init__(self) -> None:
        arity = ARITY.get(self.op)
        if arity is None:
            raise ValueError(
                f"`op` must be one of {tuple(ARITY)}. The specified `op` is {self.op!r}."
            )
        if len(self.children) != arity or not all(isinstance(c, Node) for c in self.children):
            raise ValueError(
                f"A {self.op!r} node needs {arity} child node(s). It was given "
                f"{len(self.children)}."
            )
        if self.op != CONST and self.value != 0:
            raise ValueError(f"Only a constant leaf carries a `value`; {self.op!r} was given one.")
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise ValueError(f"`value` must be an int. The specified `value` is {self.value!r}.")
        if not math.isfinite(self.coefficient):
            raise ValueError(
                f"`coefficient` must be finite. The specified `coefficient` is {self.coefficient}."
            )

    def __str__(self) -> str:
        return format_tree(self)

    @property
    def arity(self) -> int:
        """Number of children: 0 (leaf), 1 (unary) or 2 (binary)."""
        return len(self.children)

    @property
    def is_leaf(self) -> bool:
        """Whether the node has no children."""
        return not self.children


def const(value: int, coefficient: float = 1.0) -> Node:
    """An integer-constant leaf."""
    return Node(CONST, (), value, coefficient)


def leaf(name: str) -> Node:
    """A leaf from its name in GLO's node set: ``"x"``, ``"y"``, ``"1"`` or ``"-1"``."""
    if name in VARIABLES:
        return Node(name)
    try:
        return const(int(name))
    except ValueError:
        raise ValueError(f"`name` must be 'x', 'y' or an integer. It is {name!r}.") from None


X = Node("x")
Y = Node("y")


def iter_paths(tree: Node) -> Iterator[tuple[Path, Node]]:
    """Every ``(path, node)`` of ``tree`` in pre-order (root first, then left to right)."""
    stack: list[tuple[Path, Node]] = [((), tree)]
    while stack:
        path, node = stack.pop()
        yield path, node
        for i in reversed(range(node.arity)):
            stack.append(((*path, i), node.children[i]))


def iter_postorder(tree: Node) -> Iterator[tuple[Path, Node]]:
    """Every ``(path, node)`` of ``tree`` bottom-up: children before their parent."""
    out = list(iter_paths(tree))
    # Reversed pre-order with children visited right to left puts every node after its children.
    return reversed(out)


def size(tree: Node) -> int:
    """Number of nodes."""
    return sum(1 for _ in iter_paths(tree))


def depth(tree: Node) -> int:
    """Edges on the longest root-to-leaf path: a leaf has depth 0, ``log(y)`` depth 1.

    Linear in the number of nodes (no paths are built), so that the parser can measure a deep
    chain such as ``x + x + ... + x`` from stored text before rejecting it.
    """
    deepest = 0
    stack = [(tree, 0)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in node.children)
    return deepest


def subtree_at(tree: Node, path: Path) -> Node:
    """The node at ``path``."""
    node = tree
    for i in path:
        node = node.children[i]
    return node


def replace_at(tree: Node, path: Path, new: Node) -> Node:
    """A copy of ``tree`` with the subtree at ``path`` replaced by ``new``."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    children = list(tree.children)
    children[head] = replace_at(children[head], rest, new)
    return Node(tree.op, tuple(children), tree.value, tree.coefficient)


def has_variable(tree: Node, name: str) -> bool:
    """Whether a leaf ``name`` (``"x"`` or ``"y"``) occurs in ``tree``."""
    return any(node.op == name for _, node in iter_paths(tree))


def with_coefficient(node: Node, coefficient: float) -> Node:
    """``node`` with its own coefficient replaced."""
    return Node(node.op, node.children, node.value, float(coefficient))


def reset_coefficients(tree: Node) -> Node:
    """``tree`` with every coefficient 1 (the discovery-phase form of a tuned tree)."""
    return Node(tree.op, tuple(reset_coefficients(c) for c in tree.children), tree.value, 1.0)


PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}
_PREFIX_LEVEL = 3  # `{c}a` and `a^2`
_NEGATIVE_LEVEL = 2.5  # `-1`: fine as an operand of + - * /, parenthesized after `{c}` and `^2`
_ATOM_LEVEL = 4  # x, y, 1, log(...), sqrt(...), (...)


# ----------------------------------------------------------------------------------- formatting


def _level(node: Node) -> float:
    """How tightly the written form of ``node`` binds (higher binds tighter)."""
    if node.coefficient != 1.0:
        return _PREFIX_LEVEL
    if node.op in PRECEDENCE:
        return PRECEDENCE[node.op]
    if node.op == "sq":
        return _PREFIX_LEVEL
    if node.op == CONST and node.value < 0:
        return _NEGATIVE_LEVEL
    return _ATOM_LEVEL


def _wrap(node: Node, min_level: float) -> str:
    text = format_tree(node)
    return text if _level(node) >= min_level else f"({text})"


def _format_body(node: Node) -> str:
    """``node`` written without its own coefficient."""
    op = node.op
    if op == CONST:
        return str(node.value)
    if op in ("x", "y"):
        return op
    if op in ("log", "sqrt"):
        return f"{op}({format_tree(node.children[0])})"
    if op == "sq":
        return f"{_wrap(node.children[0], _ATOM_LEVEL)}^2"
    prec = PRECEDENCE[op]
    left, right = node.children
    # Left-associative: the left operand may share the precedence, the right one may not.
    return f"{_wrap(left, prec)} {op} {_wrap(right, prec + 0.5)}"


def format_tree(tree: Node) -> str:
    """The text form of ``tree`` (what ``str(tree)`` returns); :func:`parse` reads it back."""
    body = _format_body(tree)
    if tree.coefficient == 1.0:
        return body
    bare = Node(tree.op, tree.children, tree.value)
    if _level(bare) < _PREFIX_LEVEL:
        body = f"({body})"
    return f"{{{_format_number(tree.coefficient)}}}{body}"


def _format_number(value: float) -> str:
    """The shortest text that reads back as exactly ``value`` (``2`` for 2.0, ``0.1``)."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)
