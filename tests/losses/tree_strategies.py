"""Hypothesis strategies for loss trees, shared by the tree and GP-operator tests."""

from __future__ import annotations

from hypothesis import strategies as st

from optuna_glo.losses.trees import BINARY_OPS, UNARY_OPS, Node, const


def _coefficients(with_coefficients: bool, bound: float | None) -> st.SearchStrategy[float]:
    if not with_coefficients:
        return st.just(1.0)
    if bound is not None:  # what the parser reads back: |c| <= bound, edges included
        return st.one_of(
            st.just(1.0),
            st.floats(-bound, bound, allow_nan=False, allow_infinity=False),
            st.sampled_from([-1.0, 2.0, 0.5, -0.0, 1e-30, bound, -bound]),
        )
    return st.one_of(
        st.just(1.0),
        st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
        st.sampled_from([-1.0, 2.0, 0.5, -0.0, 1e-30, 1.5e300]),
    )


def trees(
    *, with_coefficients: bool = False, max_leaves: int = 12, coefficient_bound: float | None = None
) -> st.SearchStrategy[Node]:
    """Well-formed trees over GLO's node set (integer leaves from -3 to 3).

    ``coefficient_bound`` keeps every coefficient within ``[-bound, bound]`` (the parser's
    ``MAX_COEFFICIENT``); without it, coefficients reach 1.5e300.
    """
    coef = _coefficients(with_coefficients, coefficient_bound)
    leaves = st.one_of(
        st.builds(lambda c: Node("x", coefficient=c), coef),
        st.builds(lambda c: Node("y", coefficient=c), coef),
        st.builds(const, st.integers(-3, 3), coef),
    )

    def extend(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
        unary = st.builds(lambda op, a, c: Node(op, (a,), 0, c), st.sampled_from(UNARY_OPS),
                          children, coef)
        binary = st.builds(lambda op, a, b, c: Node(op, (a, b), 0, c),
                           st.sampled_from(BINARY_OPS), children, children, coef)
        return st.one_of(unary, binary)

    return st.recursive(leaves, extend, max_leaves=max_leaves)
