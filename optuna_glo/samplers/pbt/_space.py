"""The hyperparameters an individual carries (EPBT section 3.1: the ``h`` of ``{D, h, f}``).

A :class:`SearchSpace` is a fixed list of bounded float variables. It draws the initial values of
generation 0, the values of a random re-initialisation or reset, and clips every new value back
into the bounds. Two spaces come ready-made: the 8 TaylorGLO parameters (EPBT section 3.3, eq. 1)
and SGD's learning rate and momentum (the third baseline of EPBT section 4.1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from optuna.distributions import FloatDistribution

from optuna_glo.keys import SGD_LR_PARAM, SGD_MOMENTUM_PARAM, THETA_PREFIX
from optuna_glo.samplers._taylorglo import taylor_param_names

#: EPBT section 4.1: "The search space for TaylorGLO was constrained between -10 and 10", and
#: EPBT was run with "the initial TaylorGLO parameters sampled uniformly between -10 and 10".
TAYLOR_BOUNDS = (-10.0, 10.0)

#: SGD learning rate, log-uniform. The ResNet recipe of EPBT section 4.1 starts at 0.1 and decays
#: by 10x twice (to 0.001); the bounds hold that whole schedule with a decade to spare each side.
SGD_LR_BOUNDS = (1e-4, 1.0)

#: SGD momentum, uniform. It holds the recipe's 0.9; the top stays below 1 because at momentum
#: >= 1 the sum of past steps no longer decays (the effective step 1 / (1 - momentum) diverges).
SGD_MOMENTUM_BOUNDS = (0.0, 0.99)


@dataclass(frozen=True)
class Variable:
    """One hyperparameter: an Optuna float parameter with bounds and an initial range.

    Attributes:
        name: The Optuna parameter name the objective suggests.
        low: Lower bound (every new value is clipped to ``[low, high]``).
        high: Upper bound.
        log: Draw initial and reset values log-uniformly (``low`` must be > 0).
        init: ``(low, high)`` of the initial values of generation 0; ``None``: the bounds.
    """

    name: str
    low: float
    high: float
    log: bool = False
    init: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"A variable's `name` must be a non-empty str. It is {self.name!r}.")
        _check_range(f"`{self.name}` bounds", (self.low, self.high), self.log)
        if self.init is not None:
            lo, hi = self.init
            _check_range(f"`{self.name}` init", (lo, hi), self.log)
            if not (self.low <= lo and hi <= self.high):
                raise ValueError(
                    f"`{self.name}` init must lie within its bounds [{self.low}, {self.high}]. "
                    f"The specified init is ({lo}, {hi})."
                )

    @property
    def distribution(self) -> FloatDistribution:
        """The Optuna distribution of the variable's bounds."""
        return FloatDistribution(self.low, self.high, log=self.log)


def _check_range(what: str, bounds: tuple[float, float], log: bool) -> None:
    lo, hi = bounds
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi) or (log and lo <= 0.0):
        need = "finite with 0 < low < high (log scale)" if log else "finite with low < high"
        raise ValueError(f"{what} must be {need}. The specified range is ({lo}, {hi}).")


class SearchSpace:
    """An ordered set of :class:`Variable`; value arrays have one column per variable.

    Args:
        variables: The variables, in the column order of every value array.
    """

    def __init__(self, variables: Sequence[Variable]) -> None:
        variables = tuple(variables)
        if not variables or not all(isinstance(v, Variable) for v in variables):
            raise ValueError(
                f"`variables` must be a non-empty sequence of Variable. It is {variables!r}."
            )
        names = [v.name for v in variables]
        if len(set(names)) != len(names):
            raise ValueError(f"Variable names must be distinct. The names are {names}.")
        self.variables = variables
        self.names = tuple(names)
        self.low = np.array([v.low for v in variables])
        self.high = np.array([v.high for v in variables])
        self._log = np.array([v.log for v in variables])
        init = [v.init or (v.low, v.high) for v in variables]
        self._init_low = np.array([lo for lo, _ in init])
        self._init_high = np.array([hi for _, hi in init])

    def __len__(self) -> int:
        return len(self.variables)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SearchSpace) and self.variables == other.variables

    def __hash__(self) -> int:
        return hash(self.variables)

    def __repr__(self) -> str:
        return f"SearchSpace({list(self.variables)!r})"

    def distributions(self) -> dict[str, FloatDistribution]:
        """``{name: FloatDistribution}`` of the bounds, for the relative search space."""
        return {v.name: v.distribution for v in self.variables}

    def initial(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` rows of initial values: uniform (log-uniform) over each variable's init range."""
        return self._uniform(rng, n, self._init_low, self._init_high)

    def reset(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` rows of random values over the whole bounds: re-initialisation (EPBT) and
        resampling (PBT) both draw from here."""
        return self._uniform(rng, n, self.low, self.high)

    def clip(self, values: np.ndarray) -> np.ndarray:
        """``values`` clipped into the bounds."""
        return np.clip(values, self.low, self.high)

    def _uniform(
        self, rng: np.random.Generator, n: int, low: np.ndarray, high: np.ndarray
    ) -> np.ndarray:
        u = rng.random((n, len(self)))
        linear = low + u * (high - low)
        # Linear variables take log(1) here: their column of ``logarithmic`` is never used.
        log_low, log_high = np.log(np.where(self._log, low, 1.0)), np.log(
            np.where(self._log, high, 1.0)
        )
        logarithmic = np.exp(log_low + u * (log_high - log_low))
        return np.where(self._log, logarithmic, linear)


def taylor_space(
    *,
    order: int = 3,
    bounds: tuple[float, float] = TAYLOR_BOUNDS,
    init: tuple[float, float] | None = None,
    prefix: str = THETA_PREFIX,
) -> SearchSpace:
    """The TaylorGLO parameters ``taylor_theta_0 ..`` (EPBT eq. 1: 8 of them at order 3).

    Args:
        order: Order of the Taylor polynomial (3 in EPBT).
        bounds: Bounds of every parameter (EPBT section 4.1: [-10, 10]).
        init: Range of the initial values; ``None``: the bounds (EPBT: uniform in [-10, 10]).
        prefix: Parameter-name prefix, as passed to ``suggest_taylor_loss``.
    """
    low, high = bounds
    return SearchSpace(
        [Variable(name, low, high, init=init) for name in taylor_param_names(order, prefix)]
    )


def sgd_space(
    *,
    lr_bounds: tuple[float, float] = SGD_LR_BOUNDS,
    momentum_bounds: tuple[float, float] = SGD_MOMENTUM_BOUNDS,
) -> SearchSpace:
    """SGD's learning rate (log scale) and momentum, the third baseline of EPBT section 4.1.

    Parameter names :data:`~optuna_glo.keys.SGD_LR_PARAM` and
    :data:`~optuna_glo.keys.SGD_MOMENTUM_PARAM`; generation 0 draws over the whole bounds
    (PBT draws its initial hyperparameters from the prior it resamples from).
    """
    return SearchSpace(
        [
            Variable(SGD_LR_PARAM, *lr_bounds, log=True),
            Variable(SGD_MOMENTUM_PARAM, *momentum_bounds),
        ]
    )
