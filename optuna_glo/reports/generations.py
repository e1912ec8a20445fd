"""Which generation a trial belongs to, as the samplers recorded it.

Optuna's CMA-ES records ``cma:generation`` in a trial's system attrs, ``BaseGASampler`` (the GP
sampler) ``GeneticProgrammingSampler:generation``. A GLO study has both phases (GLO Fig. 1): its
coefficient-phase trials also carry the GP's key, which keeps counting past the discovery phase at
the GP's population size, so their generation is CMA-ES's, numbered after the last discovery
generation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from optuna.trial import FrozenTrial, TrialState

from optuna_glo.keys import COEFFICIENT_TREE_KEY

if TYPE_CHECKING:
    import optuna

#: Prefix of Optuna's ``CmaEsSampler`` attrs (``cma:generation``).
_CMA_PREFIX = "cma:"
_GENERATION = ":generation"


def is_coefficient_trial(trial: FrozenTrial) -> bool:
    """Whether ``trial`` belongs to GLO's coefficient phase (GLO III-B)."""
    return COEFFICIENT_TREE_KEY in trial.system_attrs


def trial_generation(trial: FrozenTrial, population_size: int | None) -> int | None:
    """A trial's generation within its phase: the sampler's own record, else its number divided by
    the population size (``None`` without either)."""
    attrs = trial.system_attrs
    keys = [k for k, v in attrs.items() if k.endswith(_GENERATION) and isinstance(v, int)]
    if is_coefficient_trial(trial):
        keys = [k for k in keys if k.startswith(_CMA_PREFIX)]
    if keys:
        return int(attrs[keys[0]])
    if population_size:
        return trial.number // population_size
    return None


def generations(
    study: optuna.Study, population_size: int | None = None
) -> dict[int, list[FrozenTrial]]:
    """Completed trials grouped by generation (in generation order); the generations of GLO's
    coefficient phase follow those of its discovery phase."""
    found = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        gen = trial_generation(t, population_size)
        if gen is not None and t.value is not None:
            found.append((gen, t))
    discovery = [gen for gen, t in found if not is_coefficient_trial(t)]
    offset = max(discovery) + 1 if discovery else 0
    by_gen: dict[int, list[FrozenTrial]] = {}
    for gen, t in found:
        by_gen.setdefault(gen + offset if is_coefficient_trial(t) else gen, []).append(t)
    return dict(sorted(by_gen.items()))
