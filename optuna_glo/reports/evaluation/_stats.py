"""The statistics of TaylorGLO Table 1: mean (std) of repeated runs and one-tailed Welch t-tests.

"All averages are from ten separately trained models and p-values are from one-tailed Welch's
t-Tests. Standard deviations are shown in parentheses." (TaylorGLO, Table 1.)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Summary:
    """Mean and sample standard deviation of repeated measurements.

    Attributes:
        n: Number of measurements.
        mean: Their mean.
        std: Their sample standard deviation (``ddof=1``; ``nan`` for one measurement).
    """

    n: int
    mean: float
    std: float

    def __str__(self) -> str:
        std = "n/a" if math.isnan(self.std) else f"{self.std:.4f}"
        return f"{self.mean:.4f} ({std})"


def summarize(values: Sequence[float]) -> Summary:
    """Mean and sample standard deviation (``ddof=1``) of ``values``."""
    if len(values) == 0:
        raise ValueError("`values` must not be empty. The specified `values` is [].")
    n = len(values)
    mean = math.fsum(values) / n
    if n < 2:
        return Summary(n, mean, math.nan)
    var = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
    return Summary(n, mean, math.sqrt(var))


def welch_greater(a: Sequence[float], b: Sequence[float]) -> float:
    """p-value of the one-tailed Welch t-test that the mean of ``a`` is greater than that of ``b``.

    ``scipy.stats.ttest_ind(a, b, equal_var=False, alternative="greater")``. Returns ``nan`` when
    the test is undefined: fewer than two values on a side, or no variance on either side.
    """
    if len(a) < 2 or len(b) < 2:
        return math.nan
    if summarize(a).std == 0.0 and summarize(b).std == 0.0:
        return math.nan
    from scipy import stats

    with warnings.catch_warnings():
        # Accuracies of a few runs can be nearly equal; scipy then warns about precision but
        # still returns the right p-value.
        warnings.filterwarnings("ignore", "Precision loss occurred", RuntimeWarning)
        result = stats.ttest_ind(list(a), list(b), equal_var=False, alternative="greater")
    return float(result.pvalue)


def format_p(p: float) -> str:
    """A p-value as the paper prints it (four significant digits; ``n/a`` when undefined)."""
    if math.isnan(p):
        return "n/a"
    if p < 1e-4:
        return f"{p:.2e}"
    return f"{p:.4f}"
