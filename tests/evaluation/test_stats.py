"""The statistics of TaylorGLO Table 1 against values computed by hand."""

from __future__ import annotations

import math

import pytest

from optuna_glo.reports.evaluation import format_p, summarize, welch_greater


def test_mean_and_sample_standard_deviation() -> None:
    # mean (1+2+3+4)/4 = 2.5; squared deviations 2.25+0.25+0.25+2.25 = 5; 5/(4-1) = 5/3.
    s = summarize([1.0, 2.0, 3.0, 4.0])
    assert s.n == 4
    assert s.mean == 2.5
    assert s.std == pytest.approx(math.sqrt(5 / 3), rel=1e-12)
    assert str(s) == "2.5000 (1.2910)"
    one = summarize([0.9])
    assert one.mean == 0.9 and math.isnan(one.std) and str(one) == "0.9000 (n/a)"
    with pytest.raises(ValueError, match="`values` must not be empty"):
        summarize([])


def test_one_tailed_welch_t_test_by_hand() -> None:
    a, b = [1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 1.0, 1.0]
    # Welch: var_a = 5/3, var_b = 1/3, se^2 = var_a/4 + var_b/4 = 1/2, t = (2.5 - 0.5)/sqrt(1/2)
    # = 2*sqrt(2) = 2.8284; df = se^4 / ((var_a/4)^2/3 + (var_b/4)^2/3) = 0.25 / (0.0601852)
    # = 4.1538; one-tailed p = P(T_4.1538 > 2.8284) = 0.0227 (t tables between df 4 and 5:
    # 0.0237 and 0.0184).
    p = welch_greater(a, b)
    assert p == pytest.approx(0.022699156, abs=1e-8)
    # The other direction is the complement; identical samples give 0.5.
    assert welch_greater(b, a) == pytest.approx(1 - p, abs=1e-12)
    assert welch_greater(a, a) == pytest.approx(0.5)


def test_undefined_tests_are_nan() -> None:
    assert math.isnan(welch_greater([0.9], [0.8, 0.7]))
    assert math.isnan(welch_greater([0.9, 0.9], [0.8, 0.8]))  # no variance anywhere


def test_p_value_format() -> None:
    assert format_p(0.022699) == "0.0227"
    assert format_p(1.2e-12) == "1.20e-12"
    assert format_p(math.nan) == "n/a"
