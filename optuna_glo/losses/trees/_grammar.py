"""The text form of loss trees: a small grammar of this project's own.

``str(tree)`` writes a tree as ordinary infix math and :func:`parse` reads it back, so that
``parse(str(tree)) == tree`` for every tree within the parser's limits. Stored trees are data
from a shared database: they are read by this parser only, never by ``eval``/``exec``, and every
size and number is bounded before it is used: at most :data:`MAX_TEXT_LENGTH` characters (checked
first), :data:`~optuna_glo.losses.trees.MAX_TREE_DEPTH` levels, coefficients up to
:data:`MAX_COEFFICIENT` and integers up to :data:`MAX_INTEGER` in absolute value. Parsing takes
time linear in the length of the text, and the only error it raises on a ``str`` is
:class:`TreeSyntaxError`, with the position of the problem.

Grammar (``{c}`` is a node's coefficient; it is written only when it is not 1)::

    expr     := term (("+" | "-") term)*              left-associative
    term     := prefixed (("*" | "/") prefixed)*      left-associative
    prefixed := "{" NUMBER "}" postfix | postfix
    postfix  := primary ("^" "2")*                    the square node
    primary  := "x" | "y" | INT | "-" INT
              | "log" "(" expr ")" | "sqrt" "(" expr ")" | "(" expr ")"
    INT      := [0-9]+                                 ASCII digits
    NUMBER   := [-+]? ([0-9]+ ("." [0-9]*)? | "." [0-9]+) ([eE] [-+]? [0-9]+)?

Examples: Baikal is ``log(y) - x / y``; BaikalCMA is
``{2.7279}({0.9863}log({1.5352}y) - {-1.1135}({1.3716}x / {-0.8411}y))``. The formatter writes
parentheses only where the tree's shape needs them (``x - (y - 1)`` is not ``x - y - 1``).
"""

from __future__ import annotations

from dataclasses import dataclass

from optuna_glo.keys import MAX_COEFFICIENT
from optuna_glo.losses.trees._nodes import (
    MAX_TREE_DEPTH,
    PRECEDENCE,
    Node,
    const,
    depth,
    format_tree,
)

#: Longest text :func:`parse` accepts (trees are data from a shared database).
MAX_TEXT_LENGTH = 20_000

# MAX_COEFFICIENT (keys.py), the largest ``|c|`` of a coefficient ``{c}``, is 1e9. The coefficient
# phase tunes each coefficient within ``keys.COEFFICIENT_BOUNDS`` (+-10) by default and within
# a spec's ``coefficient_bound`` (at most MAX_COEFFICIENT) otherwise, the papers' trees stay below
# 5 (BaikalCMA, GLO III-B), and the largest factor the guarded operations make is 1/EPS = 1e7
# (the canonical form writes ``log(y) / 0 / 3`` as ``{3333333.3333333335}log(y)``). 1e9 admits
# all of these with room; it rejects ``{1e400}`` (inf) and keeps a product of four such factors
# finite in float32 (3.4e38), the loss's dtype.

#: Largest ``|n|`` of an integer leaf: 2**24, below which every integer is exact in float32 (the
#: loss's dtype), so the compiled loss, the exported module and the canonical form agree exactly.
#: GLO's leaves are 1 and -1 and its integer mutation moves them by one (GLO III-A), so no search
#: comes near; the canonical form writes ``x / 0`` as ``10000000 * x`` (1/EPS). At most 8 digits
#: are ever converted, far from Python's 4,300-digit ``int`` limit and from floats that overflow
#: in ``evaluate``.
MAX_INTEGER = 2**24


class TreeSyntaxError(ValueError):
    """Text that is not a loss tree; ``position`` is the 0-based offset of the problem."""

    def __init__(self, message: str, text: str, position: int) -> None:
        self.message = message
        self.text = text
        self.position = position
        shown = text if len(text) <= 200 else text[:200] + "..."
        # Stored text may hold terminal escapes or line breaks: show one "?" per such character,
        # so that the caret still points at the problem.
        shown = "".join(c if c.isprintable() else "?" for c in shown)
        caret = " " * min(position, len(shown)) + "^"
        super().__init__(f"{message} at position {position}:\n  {shown}\n  {caret}")


def _shorten(text: str, limit: int = 30) -> str:
    """``repr`` of a piece of the text for a message: escaped, at most ``limit`` characters."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


# -------------------------------------------------------------------------------------- parsing
# A hand-written scanner: every character is looked at a fixed number of times, so tokenizing is
# linear in the length of the text (a regular expression with two ways to split a run of digits
# backtracked quadratically on text such as "{111...1" without its closing brace).

_DIGITS = frozenset("0123456789")
_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_NAME_CHARS = _NAME_START | _DIGITS
_PUNCT = frozenset("-+*/^()")


@dataclass(frozen=True)
class _Token:
    kind: str  # "int", "name", "coef", "punct", "end"
    text: str
    position: int


def _skip(text: str, pos: int, chars: frozenset[str]) -> int:
    """The first position at or after ``pos`` whose character is not in ``chars``."""
    while pos < len(text) and text[pos] in chars:
        pos += 1
    return pos


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _scan_number(text: str, pos: int) -> int:
    """The end of a decimal number (``-1.5e-3``, ``.5``, ``2.``) at ``pos``, or ``pos`` if none."""
    start = pos
    if pos < len(text) and text[pos] in "+-":
        pos += 1
    int_end = _skip(text, pos, _DIGITS)
    end = int_end
    if end < len(text) and text[end] == ".":
        end = _skip(text, end + 1, _DIGITS)
    if int_end == pos and end <= int_end + 1:  # no digit before or after the point
        return start
    if end < len(text) and text[end] in "eE":
        exp = end + 1
        if exp < len(text) and text[exp] in "+-":
            exp += 1
        exp_end = _skip(text, exp, _DIGITS)
        if exp_end == exp:
            return start
        end = exp_end
    return end


def _coefficient_token(text: str, start: int) -> tuple[_Token, int]:
    """The ``{number}`` at ``start`` (a ``"{"``), checked to be in range, and the end of it."""
    number_start = _skip_space(text, start + 1)
    number_end = _scan_number(text, number_start)
    close = _skip_space(text, number_end)
    if number_end == number_start or close == len(text) or text[close] != "}":
        raise TreeSyntaxError(
            "Malformed coefficient (a coefficient is written {1.5} or {-2e-3})", text, start
        )
    number = text[number_start:number_end]
    value = float(number)
    if not abs(value) <= MAX_COEFFICIENT:  # also catches inf (1e400)
        raise TreeSyntaxError(
            f"Coefficient {_shorten(number)} is out of range: a coefficient must be at most "
            f"{MAX_COEFFICIENT:,.0f} in absolute value",
            text,
            number_start,
        )
    return _Token("coef", number, start), close + 1


def _integer_token(text: str, start: int) -> tuple[_Token, int]:
    end = _skip(text, start, _DIGITS)
    digits = text[start:end].lstrip("0") or "0"
    if len(digits) > len(str(MAX_INTEGER)) or int(digits) > MAX_INTEGER:
        raise TreeSyntaxError(
            f"Integer {_shorten(text[start:end])} is out of range: an integer leaf is at most "
            f"{MAX_INTEGER:,} in absolute value",
            text,
            start,
        )
    return _Token("int", text[start:end], start), end


def _integer(token: _Token) -> int:
    """The value of an ``"int"`` token (checked by the tokenizer: at most :data:`MAX_INTEGER`)."""
    return int(token.text.lstrip("0") or "0")


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while True:
        pos = _skip_space(text, pos)
        if pos == len(text):
            tokens.append(_Token("end", "", pos))
            return tokens
        char = text[pos]
        if char in _DIGITS:
            token, pos = _integer_token(text, pos)
        elif char in _NAME_START:
            end = _skip(text, pos, _NAME_CHARS)
            token, pos = _Token("name", text[pos:end], pos), end
        elif char == "{":
            token, pos = _coefficient_token(text, pos)
        elif char in _PUNCT:
            token, pos = _Token("punct", char, pos), pos + 1
        else:
            hint = " (a coefficient is written {1.5})" if char == "}" else ""
            raise TreeSyntaxError(f"Unexpected character {char!r}{hint}", text, pos)
        tokens.append(token)


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
            found = _shorten(token.text) if token.kind != "end" else "the end of the text"
            raise self.error(f"Expected {punct!r}, found {found}", token)

    def too_deep(self, links: int, token: _Token) -> None:
        """Stop a chain (``x + x + ...``, ``x^2^2...``) as soon as it is deeper than allowed: every
        link adds a level, so no stored text makes the parser build a longer one."""
        if links > MAX_TREE_DEPTH:
            raise self.error(f"Tree deeper than {MAX_TREE_DEPTH} levels", token)

    def expr(self, min_prec: int = 1) -> Node:
        left = self.prefixed()
        links = 0
        while True:
            token = self.peek()
            prec = PRECEDENCE.get(token.text) if token.kind == "punct" else None
            if prec is None or prec < min_prec:
                return left
            links += 1
            self.too_deep(links, token)
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
        links = 0
        while self.peek().kind == "punct" and self.peek().text == "^":
            links += 1
            self.too_deep(links, self.peek())
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
            return const(_integer(token))
        if token.kind == "punct" and token.text == "-":
            number = self.take()
            if number.kind != "int":
                raise self.error("'-' here must start a negative integer such as -1", token)
            return const(-_integer(number))
        if token.kind == "punct" and token.text == "(":
            return self.group(token)
        if token.kind == "name":
            if token.text in ("x", "y"):
                return Node(token.text)
            if token.text in ("log", "sqrt"):
                self.expect("(")
                return Node(token.text, (self.group(token),))
            raise self.error(
                f"Unknown name {_shorten(token.text)} (known: x, y, log, sqrt)", token
            )
        found = _shorten(token.text) if token.kind != "end" else "the end of the text"
        raise self.error(f"Expected x, y, an integer, log(, sqrt( or '(', found {found}", token)


def parse(text: str) -> Node:
    """Read a tree from its text form (the inverse of ``str(tree)``).

    Raises:
        TreeSyntaxError: A ``ValueError`` with the position of the problem in ``text``.
    """
    if not isinstance(text, str):
        raise TypeError(f"`text` must be a str. It is a {type(text).__name__}.")
    if len(text) > MAX_TEXT_LENGTH:
        # Checked before anything else reads the text, so that no input costs more than this.
        raise TreeSyntaxError(
            f"Text of {len(text)} characters is longer than the {MAX_TEXT_LENGTH} a loss tree "
            "may have",
            text[:50],
            MAX_TEXT_LENGTH,
        )
    parser = _Parser(text)
    tree = parser.expr()
    end = parser.peek()
    if end.kind != "end":
        raise parser.error(f"Unexpected {_shorten(end.text)} after a complete expression", end)
    if depth(tree) > MAX_TREE_DEPTH:
        raise TreeSyntaxError(f"Tree deeper than {MAX_TREE_DEPTH} levels", text, 0)
    # `str(tree)` writes spaces and whole numbers that a compact text may leave out ("x+x" is
    # "x + x"): a tree is accepted only if its written form reads back too.
    written = len(format_tree(tree))
    if written > MAX_TEXT_LENGTH:
        raise TreeSyntaxError(
            f"Tree written in full is {written} characters, longer than the {MAX_TEXT_LENGTH} a "
            "loss tree may have",
            text,
            0,
        )
    return tree
