"""The text form of loss trees: a small grammar of this project's own.

``str(tree)`` writes a tree as ordinary infix math and :func:`parse` reads it back, so that
``parse(str(tree)) == tree`` for every tree. Stored trees are data from a shared database: they
are read by this parser only, never by ``eval``/``exec``.

Grammar (``{c}`` is a node's coefficient; it is written only when it is not 1)::

    expr     := term (("+" | "-") term)*              left-associative
    term     := prefixed (("*" | "/") prefixed)*      left-associative
    prefixed := "{" NUMBER "}" postfix | postfix
    postfix  := primary ("^" "2")*                    the square node
    primary  := "x" | "y" | INT | "-" INT
              | "log" "(" expr ")" | "sqrt" "(" expr ")" | "(" expr ")"

Examples: Baikal is ``log(y) - x / y``; BaikalCMA is
``{2.7279}({0.9863}log({1.5352}y) - {-1.1135}({1.3716}x / {-0.8411}y))``. The formatter writes
parentheses only where the tree's shape needs them (``x - (y - 1)`` is not ``x - y - 1``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from optuna_glo.losses.trees._nodes import MAX_TREE_DEPTH, PRECEDENCE, Node, const, depth

#: Longest text :func:`parse` accepts (trees are data from a shared database).
MAX_TEXT_LENGTH = 20_000


class TreeSyntaxError(ValueError):
    """Text that is not a loss tree; ``position`` is the 0-based offset of the problem."""

    def __init__(self, message: str, text: str, position: int) -> None:
        self.message = message
        self.text = text
        self.position = position
        shown = text if len(text) <= 200 else text[:200] + "..."
        caret = " " * min(position, len(shown)) + "^"
        super().__init__(f"{message} at position {position}:\n  {shown}\n  {caret}")


# -------------------------------------------------------------------------------------- parsing

_TOKEN = re.compile(
    r"\s*(?:"
    r"(?P<int>\d+)"
    r"|(?P<name>[A-Za-z_]\w*)"
    r"|(?P<coef>\{\s*(?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*\})"
    r"|(?P<punct>[-+*/^()])"
    r")"
)


@dataclass(frozen=True)
class _Token:
    kind: str  # "int", "name", "coef", "punct", "end"
    text: str
    position: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos == len(text):
            tokens.append(_Token("end", "", pos))
            return tokens
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            char = text[pos]
            hint = " (a coefficient is written {1.5})" if char in "{}" else ""
            raise TreeSyntaxError(f"Unexpected character {char!r}{hint}", text, pos)
        kind = match.lastgroup if match.lastgroup != "number" else "coef"
        assert kind is not None
        start = match.start(kind)
        value = match.group("number") if kind == "coef" else match.group(kind)
        tokens.append(_Token(kind, value, start))
        pos = match.end()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.nesting = 0

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def error(self, message: str, token: _Token) -> TreeSyntaxError:
        return TreeSyntaxError(message, self.text, token.position)

    def expect(self, punct: str) -> None:
        token = self.take()
        if token.kind != "punct" or token.text != punct:
            found = repr(token.text) if token.kind != "end" else "the end of the text"
            raise self.error(f"Expected {punct!r}, found {found}", token)

    def expr(self, min_prec: int = 1) -> Node:
        left = self.prefixed()
        while True:
            token = self.peek()
            prec = PRECEDENCE.get(token.text) if token.kind == "punct" else None
            if prec is None or prec < min_prec:
                return left
            self.take()
            right = self.expr(prec + 1)
            left = Node(token.text, (left, right))

    def prefixed(self) -> Node:
        token = self.peek()
        if token.kind != "coef":
            return self.postfix()
        self.take()
        coefficient = float(token.text)
        operand_token = self.peek()
        if operand_token.kind == "coef":
            raise self.error("A node carries one coefficient; found a second one", operand_token)
        operand = self.postfix()
        if operand.coefficient != 1.0:
            raise self.error("A node carries one coefficient; found a second one", operand_token)
        return Node(operand.op, operand.children, operand.value, coefficient)

    def postfix(self) -> Node:
        node = self.primary()
        while self.peek().kind == "punct" and self.peek().text == "^":
            self.take()
            power = self.take()
            if power.kind != "int" or power.text != "2":
                raise self.error("Only the square '^2' is a power", power)
            node = Node("sq", (node,))
        return node

    def group(self, open_token: _Token) -> Node:
        self.nesting += 1
        if self.nesting > MAX_TREE_DEPTH:
            raise self.error(f"Nested deeper than {MAX_TREE_DEPTH} levels", open_token)
        inner = self.expr()
        self.expect(")")
        self.nesting -= 1
        return inner

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "int":
            return const(int(token.text))
        if token.kind == "punct" and token.text == "-":
            number = self.take()
            if number.kind != "int":
                raise self.error("'-' here must start a negative integer such as -1", token)
            return const(-int(number.text))
        if token.kind == "punct" and token.text == "(":
            return self.group(token)
        if token.kind == "name":
            if token.text in ("x", "y"):
                return Node(token.text)
            if token.text in ("log", "sqrt"):
                self.expect("(")
                return Node(token.text, (self.group(token),))
            raise self.error(
                f"Unknown name {token.text!r} (known: x, y, log, sqrt)", token
            )
        found = repr(token.text) if token.kind != "end" else "the end of the text"
        raise self.error(f"Expected x, y, an integer, log(, sqrt( or '(', found {found}", token)


def parse(text: str) -> Node:
    """Read a tree from its text form (the inverse of ``str(tree)``).

    Raises:
        TreeSyntaxError: A ``ValueError`` with the position of the problem in ``text``.
    """
    if not isinstance(text, str):
        raise TypeError(f"`text` must be a str. It is a {type(text).__name__}.")
    if len(text) > MAX_TEXT_LENGTH:
        raise TreeSyntaxError(
            f"Text longer than {MAX_TEXT_LENGTH} characters", text[:50], MAX_TEXT_LENGTH
        )
    parser = _Parser(text)
    tree = parser.expr()
    end = parser.peek()
    if end.kind != "end":
        raise parser.error(f"Unexpected {end.text!r} after a complete expression", end)
    if depth(tree) > MAX_TREE_DEPTH:
        raise TreeSyntaxError(f"Tree deeper than {MAX_TREE_DEPTH} levels", text, 0)
    return tree
