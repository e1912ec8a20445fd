"""Argument checks of the samplers: one-line errors naming the value (Optuna style)."""

from __future__ import annotations


def check_int(name: str, value: int, minimum: int) -> None:
    """Raise unless ``value`` is an int (not a bool) >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(
            f"`{name}` must be an int >= {minimum}. The specified `{name}` is {value!r}."
        )


def check_rate(name: str, value: float, upper: float | None = 1.0) -> None:
    """Raise unless ``value`` is a finite number in ``[0, upper]`` (``upper=None``: no top)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = ok and 0.0 <= value < float("inf") and (upper is None or value <= upper)
    if not ok:
        where = f"in [0, {upper:g}]" if upper is not None else "finite and >= 0"
        raise ValueError(f"`{name}` must be {where}. The specified `{name}` is {value!r}.")


def check_population(population_size: int, n_elites: int) -> None:
    """Raise unless ``population_size`` >= 2 and ``0 <= n_elites < population_size`` (ints)."""
    check_int("population_size", population_size, 2)
    check_int("n_elites", n_elites, 0)
    if n_elites >= population_size:
        raise ValueError(
            f"`n_elites` must be less than `population_size` ({population_size}). The "
            f"specified `n_elites` is {n_elites}."
        )
