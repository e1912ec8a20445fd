"""GLOSampler: GLO's two phases chained in one study (GLO section III, Fig. 1).

Loss discovery by genetic programming for ``discovery_generations`` generations, then CMA-ES over
the free coefficients of the best tree found (GLO III-B). One study holds both phases, so one spec,
one set of workers and one optuna-dashboard view cover the whole method, and the study's best trial
is the best loss of either phase.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from optuna.samplers import BaseSampler
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from optuna_glo.keys import COEFFICIENT_TREE_KEY
from optuna_glo.losses.trees import parse, untrainable_reason
from optuna_glo.samplers._delegating import DelegatingSampler
from optuna_glo.samplers.gp._attrs import TREE_KEY, stored_system_attrs
from optuna_glo.samplers.gp._coefficients import (
    COEFFICIENT_BOUNDS,
    CoefficientCmaEsSampler,
    coefficient_sampler,
)
from optuna_glo.samplers.gp._sampler import GeneticProgrammingSampler

if TYPE_CHECKING:
    from collections.abc import Sequence

    from optuna.distributions import BaseDistribution
    from optuna.study import Study

#: Study system attr: the tree the coefficient phase tunes (the first worker to need it picks it).
STUDY_TREE_KEY = "GLOSampler:tree"


class GLOSampler(DelegatingSampler):
    """GLO: genetic-programming loss discovery, then CMA-ES on the best tree's coefficients.

    Trials of generations ``0 .. discovery_generations - 1`` (counted through the storage by the
    GP sampler) get candidate trees; read them with :func:`optuna_glo.suggest_glo_loss`. Every
    later trial belongs to the coefficient phase: its tree is the best trainable tree of the
    discovery trials completed when the phase began, and CMA-ES (sigma 1.5 from all ones, GLO
    III-B) samples its free coefficients.

    Args:
        discovery_generations: GP generations before the coefficient phase.
        gp_sampler: The discovery sampler (default ``GeneticProgrammingSampler(seed=seed)``).
        coefficient_population_size: CMA-ES lambda (default: CMA-ES's own, ``4 + 3 ln n``).
        coefficient_sigma0: CMA-ES's initial step size (GLO III-B: 1.5).
        coefficient_bounds: Bounds of every coefficient.
        seed: Seed of the default GP sampler and of CMA-ES.
    """

    def __init__(
        self,
        *,
        discovery_generations: int,
        gp_sampler: GeneticProgrammingSampler | None = None,
        coefficient_population_size: int | None = None,
        coefficient_sigma0: float = 1.5,  # GLO III-B: "an initial step size sigma = 1.5"
        coefficient_bounds: tuple[float, float] = COEFFICIENT_BOUNDS,
        seed: int | None = None,
    ) -> None:
        if isinstance(discovery_generations, bool) or not isinstance(discovery_generations, int) \
                or discovery_generations < 1:
            raise ValueError(
                "`discovery_generations` must be an int >= 1. The specified "
                f"`discovery_generations` is {discovery_generations!r}."
            )
        self._generations = discovery_generations
        self._gp = gp_sampler or GeneticProgrammingSampler(seed=seed)
        self._cma_settings: dict[str, Any] = {
            "population_size": coefficient_population_size,
            "sigma0": coefficient_sigma0,
            "bounds": coefficient_bounds,
            "seed": seed,
        }
        coefficient_sampler("x * log(y)", **self._cma_settings)  # checks the settings now
        self._cma: dict[str, CoefficientCmaEsSampler] = {}

    def _cma_for(self, tree: str) -> CoefficientCmaEsSampler:
        if tree not in self._cma:
            self._cma[tree] = coefficient_sampler(tree, **self._cma_settings)
        return self._cma[tree]

    def _delegate(self, study: Study, trial: FrozenTrial) -> BaseSampler:
        """The phase's sampler; the trial is read from the storage (its snapshot may be stale)."""
        tree = stored_system_attrs(study, trial).get(COEFFICIENT_TREE_KEY)
        return self._gp if tree is None else self._cma_for(tree)

    def _check_single_objective(self, study: Study) -> None:
        """Nothing here: the phase's sampler checks the study."""

    def _coefficient_tree(self, study: Study) -> str:
        storage, study_id = study._storage, study._study_id
        stored = storage.get_study_system_attrs(study_id).get(STUDY_TREE_KEY)
        if stored is not None:
            return str(stored)
        complete = storage.get_all_trials(study_id, deepcopy=False, states=(TrialState.COMPLETE,))
        discovered = [
            t for t in complete
            if TREE_KEY in t.system_attrs and COEFFICIENT_TREE_KEY not in t.system_attrs
        ]
        sign = -1.0 if study.direction == StudyDirection.MAXIMIZE else 1.0
        discovered.sort(key=lambda t: (sign * float(t.values[0]), t.number))
        best = next(
            (t for t in discovered if untrainable_reason(parse(t.system_attrs[TREE_KEY])) is None),
            None,
        )
        if best is None:
            raise RuntimeError(
                "The coefficient phase needs a trainable tree from the discovery phase, and no "
                "completed discovery trial has one. Run more discovery generations."
            )
        storage.set_study_system_attr(study_id, STUDY_TREE_KEY, best.system_attrs[TREE_KEY])
        return str(storage.get_study_system_attrs(study_id)[STUDY_TREE_KEY])

    def generation_full(self, study: Study, trials: Sequence[FrozenTrial]) -> bool:
        """In the coefficient phase, CMA-ES's answer
        (:meth:`~optuna_glo.samplers.cmaes.FixedSpaceCmaEsSampler.generation_full`) over that
        phase's trials; in discovery, ``False``: the GP sampler counts its generations itself."""
        tree = study._storage.get_study_system_attrs(study._study_id).get(STUDY_TREE_KEY)
        if not isinstance(tree, str):
            return False
        phase = [t for t in trials if COEFFICIENT_TREE_KEY in t.system_attrs]
        return self._cma_for(tree).generation_full(study, phase)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        retried_tree = trial.system_attrs.get(COEFFICIENT_TREE_KEY)
        if retried_tree is not None:
            self._cma_for(retried_tree).before_trial(study, trial)
            return
        if TREE_KEY in trial.system_attrs:
            self._gp.before_trial(study, trial)
            return
        generation = self._gp.get_trial_generation(study, trial)
        if generation < self._generations:
            self._gp._check_and_assign(study, trial, generation)
            return
        tree = self._coefficient_tree(study)
        study._storage.set_trial_system_attr(trial._trial_id, COEFFICIENT_TREE_KEY, tree)
        self._cma_for(tree).before_trial(study, trial)

    def reseed_rng(self) -> None:
        self._gp.reseed_rng()
        for sampler in self._cma.values():
            sampler.reseed_rng()

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return self._delegate(study, trial).infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return self._delegate(study, trial).sample_relative(study, trial, search_space)
