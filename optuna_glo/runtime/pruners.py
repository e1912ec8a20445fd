"""The spec's ``[pruner]`` table: an Optuna pruner that stops bad candidates early.

Candidates report their validation accuracy at checkpoints (``[training] eval_every``); a pruner
compares a candidate with the other trials at the same step and may stop it::

    [pruner]
    type = "median"          # optuna.pruners.MedianPruner
    n_startup_trials = 28    # any keyword of that class

``type`` is ``"none"`` (the default: every candidate trains to the end), ``"median"``,
``"successive_halving"`` or ``"hyperband"``, with the keywords Optuna's class takes. The pruner is
not stored in the study by Optuna: every worker builds it from the stored spec, as the sampler.
TaylorGLO's own early stop, abort-and-retry (appendix A.5), is ``[training] abort_retry``.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna

#: ``[pruner] type`` -> the class in ``optuna.pruners`` (imported when built: specs are read by
#: commands that need no Optuna).
PRUNERS: dict[str, str] = {
    "none": "NopPruner",
    "median": "MedianPruner",
    "successive_halving": "SuccessiveHalvingPruner",
    "hyperband": "HyperbandPruner",
}


@dataclass(frozen=True)
class PrunerSettings:
    """The ``[pruner]`` table: Optuna's pruner ``type`` and its keyword arguments."""

    type: str = "none"
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_table(cls, table: Any) -> PrunerSettings:
        """Parse and check the table; a ``ValueError`` (one line) names what is wrong."""
        if not isinstance(table, Mapping):
            raise ValueError(f"[pruner] must be a table, got {table!r}.")
        kwargs = dict(table)
        name = kwargs.pop("type", "none")
        if name not in PRUNERS:
            raise ValueError(
                f"[pruner] type must be one of {', '.join(map(repr, PRUNERS))}. The specified "
                f"type is {name!r}."
            )
        settings = cls(name, kwargs)
        settings.make()  # Optuna checks the keywords' values
        return settings

    def to_dict(self) -> dict[str, Any]:
        """The table as written in a spec."""
        return {"type": self.type, **self.kwargs}

    def make(self) -> optuna.pruners.BasePruner:
        """The Optuna pruner; a ``ValueError`` (one line) for a keyword it does not take."""
        import optuna

        cls: type[optuna.pruners.BasePruner] = getattr(optuna.pruners, PRUNERS[self.type])
        known = [p for p in inspect.signature(cls).parameters if p != "self"]
        unknown = sorted(set(self.kwargs) - set(known))
        if unknown:
            raise ValueError(
                f"[pruner] key(s) {', '.join(f'`{k}`' for k in unknown)} are not keywords of "
                f"optuna.pruners.{cls.__name__}. Its keywords: "
                f"{', '.join(f'`{k}`' for k in known) or 'none'}."
            )
        for key, value in self.kwargs.items():
            if not isinstance(value, int | float | str | bool):
                raise ValueError(
                    f"[pruner] {key} must be a number, a string or true/false, got {value!r}."
                )
        try:
            return cls(**self.kwargs)
        except (TypeError, ValueError) as err:
            message = " ".join(str(err).split())
            raise ValueError(f"[pruner] optuna.pruners.{cls.__name__}: {message}") from None
