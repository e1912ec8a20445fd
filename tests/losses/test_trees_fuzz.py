"""Fuzzing the tree grammar: stored tree text is untrusted, so every input must end in a tree that
reads back as itself or in the project's own ``TreeSyntaxError``, quickly."""

from __future__ import annotations

import time

from optuna_glo.losses.trees import MAX_TEXT_LENGTH, TreeSyntaxError, parse


def _seconds(text: str) -> float:
    """Best of three: the time ``parse`` takes to reject ``text``."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        try:
            parse(text)
        except TreeSyntaxError:
            pass
        else:  # pragma: no cover - a failure message, not a branch
            raise AssertionError(f"{text[:40]!r}... was accepted")
        best = min(best, time.perf_counter() - start)
    return best


def test_a_long_input_is_rejected_at_once() -> None:
    # Issue 14's requirement: a 100k-character input is rejected in under 0.5 s (it takes
    # microseconds: the length is checked before anything reads the text).
    for text in ("{" + "1" * 99_999, "x" + "+x" * 49_999, "(" * 100_000):
        assert _seconds(text) < 0.5


def test_the_worst_inputs_within_the_length_limit_stay_linear() -> None:
    # Texts just under the limit that once took seconds (quadratic backtracking on an unclosed
    # coefficient: 7 s; a 10,000-link chain measured by a quadratic depth(): 1.1 s). Linear
    # parsing takes milliseconds; 2 s leaves room for a busy CI machine and still catches either.
    n = MAX_TEXT_LENGTH
    worst = [
        "{" + "1" * (n - 1),
        "{" + "1" * (n - 2) + "}",
        "x" + "+x" * ((n - 1) // 2),
        "x" + "^2" * ((n - 1) // 2),
        "(" * n,
        "{1." + "0" * (n - 4) + "e",
    ]
    assert all(len(text) <= n for text in worst)
    assert max(_seconds(text) for text in worst) < 2.0
