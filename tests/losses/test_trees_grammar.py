"""Loss trees: nodes, the text form and its parser."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from tree_strategies import trees

from optuna_glo.losses.trees import (
    MAX_COEFFICIENT,
    MAX_TEXT_LENGTH,
    MAX_TREE_DEPTH,
    Node,
    TreeSyntaxError,
    const,
    depth,
    iter_paths,
    iter_postorder,
    parse,
    replace_at,
    size,
    subtree_at,
)

X, Y = Node("x"), Node("y")


@settings(max_examples=200, deadline=None)
@given(trees(with_coefficients=True, coefficient_bound=MAX_COEFFICIENT))
def test_parse_inverts_str(tree: Node) -> None:
    assert parse(str(tree)) == tree


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("log(y) - x / y", Node("-", (Node("log", (Y,)), Node("/", (X, Y))))),
        ("x - y - 1", Node("-", (Node("-", (X, Y)), const(1)))),
        ("x - (y - 1)", Node("-", (X, Node("-", (Y, const(1)))))),
        ("x + y * -1", Node("+", (X, Node("*", (Y, const(-1)))))),
        ("-1 * x^2", Node("*", (const(-1), Node("sq", (X,))))),
        ("(x + y)^2", Node("sq", (Node("+", (X, Y)),))),
        ("sqrt( y )", Node("sqrt", (Y,))),
        ("{2.5}log({-1e-3}y)", Node("log", (Node("y", coefficient=-1e-3),), 0, 2.5)),
        ("{3}(x + y)", Node("+", (X, Y), 0, 3.0)),
        ("{3}x^2", Node("sq", (X,), 0, 3.0)),
        ("({3}x)^2", Node("sq", (Node("x", coefficient=3.0),))),
        ("x * {2}y", Node("*", (X, Node("y", coefficient=2.0)))),
    ],
)
def test_parse_known_texts(text: str, expected: Node) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("tree", "text"),
    [
        (Node("-", (X, Node("-", (Y, const(1))))), "x - (y - 1)"),
        (Node("-", (Node("-", (X, Y)), const(1))), "x - y - 1"),
        (Node("/", (X, Node("*", (Y, Y)))), "x / (y * y)"),
        (Node("*", (Node("+", (X, Y)), Y)), "(x + y) * y"),
        (Node("sq", (Node("sq", (X,)),)), "(x^2)^2"),
        (Node("sq", (const(-1),)), "(-1)^2"),
        (const(-1, 2.0), "{2}(-1)"),
        (Node("x", coefficient=0.1), "{0.1}x"),
    ],
)
def test_format_writes_needed_parentheses_only(tree: Node, text: str) -> None:
    assert str(tree) == text


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("x +", 3, "end of the text"),
        ("log y", 4, "Expected '('"),
        ("x ^ 3", 4, "'^2'"),
        ("{2}{3}x", 3, "one coefficient"),
        ("{2}({3}x)", 3, "one coefficient"),
        ("log(y) - z", 9, "Unknown name 'z'"),
        ("x $ y", 2, "Unexpected character '$'"),
        ("(x", 2, "Expected ')'"),
        ("x y", 2, "after a complete expression"),
        ("- x", 0, "negative integer"),
        ("{nan}x", 0, "coefficient is written"),
        ("__import__(os)", 0, "Unknown name"),
        ("exec('x')", 5, "Unexpected character"),
        ("", 0, "end of the text"),
    ],
)
def test_bad_text_reports_the_position(text: str, position: int, fragment: str) -> None:
    with pytest.raises(TreeSyntaxError) as info:
        parse(text)
    assert info.value.position == position
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


def test_parse_bounds_what_a_database_can_make_it_do() -> None:
    with pytest.raises(TreeSyntaxError, match="Nested deeper"):
        parse("(" * 500 + "x" + ")" * 500)
    with pytest.raises(TreeSyntaxError, match="deeper than"):
        parse(" + ".join(["x"] * (MAX_TREE_DEPTH + 2)))
    with pytest.raises(TreeSyntaxError, match="longer than"):
        parse("x" + " + x" * 10_000)
    assert depth(parse(" + ".join(["x"] * (MAX_TREE_DEPTH + 1)))) == MAX_TREE_DEPTH


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"op": "exp"}, "`op` must be one of"),
        ({"op": "log"}, "needs 1 child"),
        ({"op": "+", "children": (X,)}, "needs 2 child"),
        ({"op": "x", "children": (X,)}, "needs 0 child"),
        ({"op": "x", "value": 3}, "Only a constant"),
        ({"op": "const", "value": 1.5}, "`value` must be an int"),
        ({"op": "x", "coefficient": math.inf}, "`coefficient` must be finite"),
        ({"op": "x", "coefficient": math.nan}, "`coefficient` must be finite"),
    ],
)
def test_invalid_nodes_are_rejected(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        Node(**kwargs)  # type: ignore[arg-type]


def test_paths_and_replacement() -> None:
    tree = parse("log(y) - x / y")
    paths = [path for path, _ in iter_paths(tree)]
    assert paths == [(), (0,), (0, 0), (1,), (1, 0), (1, 1)]
    post = [path for path, _ in iter_postorder(tree)]
    children = [(p, (*p, i)) for p in paths for i in (0, 1) if (*p, i) in post]
    assert all(post.index(parent) > post.index(child) for parent, child in children)
    assert subtree_at(tree, (1, 0)) == X
    assert str(replace_at(tree, (1, 0), parse("x^2"))) == "log(y) - x^2 / y"
    assert size(tree) == 6 and depth(tree) == 2 and depth(X) == 0


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("{1e400}x", 1, "Coefficient '1e400' is out of range"),
        ("{-1e10}x", 1, "at most 1,000,000,000 in absolute value"),
        ("{nan}x", 0, "Malformed coefficient"),
        ("{inf}x", 0, "Malformed coefficient"),
        ("{1e}x", 0, "Malformed coefficient"),
        ("{1.5", 0, "Malformed coefficient"),
        ("x + " + "9" * 5000, 4, "Integer '999999999999999999999999999999...' is out of range"),
        ("x * -" + "1" * 400, 5, "at most 16,777,216 in absolute value"),
        ("16777217", 0, "out of range"),
        ("x + é", 4, "Unexpected character 'é'"),
        ("x +\x1b[2J y", 3, "Unexpected character '\\x1b'"),
    ],
)
def test_numbers_out_of_range_are_syntax_errors(text: str, position: int, fragment: str) -> None:
    # Python raises a plain ValueError for an int of over 4,300 digits, float() gives inf for
    # 1e400, and a 400-digit constant overflowed later, in evaluate: all are refused here.
    with pytest.raises(TreeSyntaxError) as info:
        parse(text)
    assert info.value.position == position
    assert fragment in info.value.message
    shown = str(info.value).split("\n")[1]
    assert shown.isprintable()  # stored escapes are shown as "?", never sent to a terminal


def test_numbers_at_the_limits_parse_and_compute() -> None:
    tree = parse(f"{{{-MAX_COEFFICIENT:.0f}}}x - 16777216 * y + -0016777216 + {{1e-300}}x")
    assert str(tree) == "{-1000000000}x - 16777216 * y + -16777216 + {1e-300}x"
    assert parse(str(tree)) == tree
    assert parse("00007") == const(7)


def test_depth_is_linear_and_long_chains_stop_early() -> None:
    chain = X
    for _ in range(10_000):  # depth() once built a path per node: 1.1 s for this chain
        chain = Node("+", (chain, X))
    assert depth(chain) == 10_000
    with pytest.raises(TreeSyntaxError, match="deeper than") as info:
        parse("x" + " + x" * 4000)
    assert info.value.position == 4 * (MAX_TREE_DEPTH + 1) - 2  # the 65th "+", not the end


def test_a_tree_whose_written_form_is_too_long_is_refused() -> None:
    # Compact text that would be written longer ("x*x" is written "x * x"): accepted, it could not
    # be read back, so it is refused.
    def balanced(levels: int) -> str:
        return "x" if levels == 0 else f"({balanced(levels - 1)}*{balanced(levels - 1)})"

    text = balanced(12)
    assert len(text) == 16_381 <= MAX_TEXT_LENGTH
    with pytest.raises(TreeSyntaxError, match="written in full is 20475 characters"):
        parse(text)
    assert parse(balanced(11)) == parse(str(parse(balanced(11))))
