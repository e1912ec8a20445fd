"""The range of every number in a study spec, one check per table.

Spec values size the work (an order, a population, a batch) or feed the samplers' arithmetic
(step sizes, bounds), so each is checked when the spec is read, with its range and the value, not
when a worker first uses it. The bounds shared with other layers are in ``optuna_glo.keys``.
A check raises ``ValueError("KEY must be ...")``; ``spec._build`` adds the file and the table.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from optuna_glo.keys import (
    MAX_COEFFICIENT,
    MAX_POPULATION_BATCH,
    MAX_POPULATION_SIZE,
    MAX_STEPS,
    MAX_TAYLOR_ORDER,
    MAX_TRIALS,
)

#: Longest study name: Optuna's ``studies.study_name`` column is ``VARCHAR(512)``.
MAX_STUDY_NAME_LENGTH = 512


def check_study_name(name: str, key: str = "the study name") -> None:
    """A study name every storage can hold and every terminal shows as it is.

    Args:
        name: The name.
        key: How the message names it (``"name"`` in ``[study]``, ``"--study"``).

    Raises:
        ValueError: The name is empty, longer than :data:`MAX_STUDY_NAME_LENGTH` characters or
            contains a control character (PostgreSQL refuses NUL; others move the cursor).
    """
    if not name or len(name) > MAX_STUDY_NAME_LENGTH:
        raise ValueError(
            f"{key} must have 1 to {MAX_STUDY_NAME_LENGTH} characters (Optuna's column). The "
            f"specified name has {len(name)}."
        )
    bad = next((c for c in name if not c.isprintable()), None)
    if bad is not None:
        raise ValueError(
            f"{key} must not contain control characters. The specified name has {bad!r} at "
            f"position {name.index(bad)}."
        )


def _in_range(
    key: str, value: float | None, low: float, high: float, *, low_open: bool = False,
    why: str = "",
) -> None:
    """``value`` is ``None`` or a finite number in ``[low, high]`` (``(low, high]``)."""
    if value is None:
        return
    above = value > low if low_open else value >= low
    if math.isfinite(value) and above and value <= high:
        return
    finite = "a finite number " if isinstance(value, float) else ""
    top = f"{high:,}" if isinstance(high, int) else f"{high:g}"
    bounds = f"{'>' if low_open else '>='} {low:g} and <= {top}"
    raise ValueError(
        f"{key} must be {finite}{bounds}{f' ({why})' if why else ''}. The specified value is "
        f"{value!r}."
    )


def _count(key: str, value: int | None, low: int, high: int, why: str = "") -> None:
    _in_range(key, value, low, high, why=why)


def _check_study(s: Any) -> None:
    check_study_name(s.name, "name")
    _count("n_trials", s.n_trials, 1, MAX_TRIALS)
    _count("generations", s.generations, 1, MAX_TRIALS)
    _count("seed", s.seed, 0, 2**32 - 1, "NumPy's and Optuna's seeds")


def _check_training(t: Any) -> None:
    _count("steps", t.steps, 1, MAX_STEPS)
    _in_range("lr", t.lr, 0.0, 1e6, low_open=True)
    _count("population_batch", t.population_batch, 1, MAX_POPULATION_BATCH,
           "a batch's trials are claimed before any is trained")


def _check_abort_retry(a: Any) -> None:
    _count("check_step", a.check_step, 1, MAX_STEPS)
    _in_range("min_accuracy", a.min_accuracy, 0.0, 1.0)
    _count("max_retries", a.max_retries, 0, 100, "TaylorGLO A.5 retries twice")


def _check_taylorglo(t: Any) -> None:
    _count("order", t.order, 1, MAX_TAYLOR_ORDER,
           "order k has 2 + k(k+1)/2 parameters and CMA-ES's cost grows with their square; "
           "TaylorGLO eq. 5 uses 3")
    _count("population_size", t.population_size, 2, MAX_POPULATION_SIZE)
    _in_range("sigma0", t.sigma0, 0.0, MAX_COEFFICIENT, low_open=True)
    _in_range("bound", t.bound, 0.0, MAX_COEFFICIENT, low_open=True,
              why="stored parameters are read back up to this size")


def _check_glo(g: Any) -> None:
    _count("population_size", g.population_size, 2, MAX_POPULATION_SIZE)
    _count("n_elites", g.n_elites, 0, MAX_POPULATION_SIZE)
    for key in ("crossover_prob", "integer_mutation_prob", "same_arity_mutation_prob",
                "shrink_mutation_prob", "grow_mutation_prob"):
        _in_range(key, getattr(g, key), 0.0, 1.0)
    _count("coefficient_generations", g.coefficient_generations, 0, MAX_TRIALS)
    _count("coefficient_population_size", g.coefficient_population_size, 4, MAX_POPULATION_SIZE,
           "CMA-ES's rank-mu update needs 2 parents")
    _in_range("coefficient_sigma0", g.coefficient_sigma0, 0.0, MAX_COEFFICIENT, low_open=True)
    # GLO III-B starts every coefficient at 1, so the bound must exceed 1.
    _in_range("coefficient_bound", g.coefficient_bound, 1.0, MAX_COEFFICIENT, low_open=True,
              why="the coefficient phase starts at 1, and tuned trees are read back with "
              "coefficients up to this size")


def _check_evaluate(e: Any) -> None:
    if not e.losses or not e.steps:
        raise ValueError("losses and steps must not be empty.")
    for n in e.steps:
        _count("steps", n, 1, MAX_STEPS)
    _count("seeds", e.seeds, 1, MAX_TRIALS)
    if e.split not in ("test", "val"):
        raise ValueError(f"split must be 'test' or 'val', got {e.split!r}.")


#: The check of each table, by the table's name in the spec.
_TABLE_CHECKS: dict[str, Callable[[Any], None]] = {
    "study": _check_study,
    "training": _check_training,
    "training.abort_retry": _check_abort_retry,
    "taylorglo": _check_taylorglo,
    "glo": _check_glo,
    "evaluate": _check_evaluate,
}


def check_ranges(table: str, settings: Any) -> None:
    """Check the numbers of a spec table's settings (tables without a check pass).

    Raises:
        ValueError: ``"KEY must be RANGE. The specified value is VALUE."``
    """
    check = _TABLE_CHECKS.get(table)
    if check is not None:
        check(settings)
