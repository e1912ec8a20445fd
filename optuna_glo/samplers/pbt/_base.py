"""What EPBT and PBT share as Optuna samplers: slots claimed through the storage, generations that
wait for the previous one to close, populations cached in the study, values handed to the
objective as ordinary Optuna parameters.

A trial is one segment of one individual: it trains from its parent's final weights (none in
generation 0) with the values the sampler gave it, and its value is the fitness. Population
``P_g`` is the set of individuals after generation ``g``: the survivors of ``P_{g-1}`` (EPBT's
elites; none in PBT) and the completed trials of generation ``g``. ``BaseGASampler``'s parent
cache keeps it in the study (``select_parent(study, g + 1)`` computes it once), so every worker
makes generation ``g + 1`` from the same individuals.
"""

from __future__ import annotations

import time
import warnings
from abc import abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from optuna.distributions import FloatDistribution
from optuna.samplers import BaseGASampler, BaseSampler, RandomSampler
from optuna.trial import FrozenTrial, TrialState

from optuna_glo.keys import (
    ASSIGNED_KEY,
    LINEAGE_KEY,
    PARENT_KEY,
    POPULATION_ORIGIN_ATTR,
    TICKET_KEY,
)
from optuna_glo.samplers._delegating import DelegatingSampler, check_delegation_args
from optuna_glo.samplers.pbt._attrs import read_assigned, system_attrs_of
from optuna_glo.samplers.pbt._individual import Assignment, Individual, individuals
from optuna_glo.samplers.pbt._space import SearchSpace
from optuna_glo.samplers.pbt._ticket import Layout, claim, lowest_open, ordinals, read_ticket

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution
    from optuna.study import Study

_logger = optuna.logging.get_logger(__name__)
#: Seconds between the notes of a trial waiting for the previous generation.
_NOTE_EVERY = 60.0


class PopulationSampler(DelegatingSampler, BaseGASampler):
    """The storage-shared machinery of :class:`EPBTSampler` and :class:`PBTSampler`."""

    _single_objective_why = "an individual's fitness is one validation score"

    def __init__(
        self,
        *,
        space: SearchSpace,
        population_size: int,
        layout: Layout,
        independent_sampler: BaseSampler | None,
        seed: int | None,
        poll_interval: float,
    ) -> None:
        if not isinstance(space, SearchSpace):
            raise ValueError(f"`space` must be a SearchSpace. The specified one is {space!r}.")
        check_delegation_args(seed, independent_sampler)
        if not (isinstance(poll_interval, (int, float)) and 0.0 < poll_interval < float("inf")):
            raise ValueError(
                f"`poll_interval` must be a finite number of seconds > 0. The specified "
                f"`poll_interval` is {poll_interval!r}."
            )
        super().__init__(population_size=population_size)
        self._space = space
        self._layout = layout
        self._seed = seed
        self._independent_sampler = independent_sampler or RandomSampler(seed=seed)
        self._poll_interval = float(poll_interval)
        self._checked_studies: set[int] = set()

    @property
    def space(self) -> SearchSpace:
        """The hyperparameters every individual carries."""
        return self._space

    def n_trials(self, generations: int) -> int:
        """Trials of ``generations`` whole generations (the budget of a study that runs them)."""
        return self._layout.n_trials(generations)

    # ---------------------------------------------------------------- what subclasses decide

    @abstractmethod
    def _settings(self) -> dict[str, Any]:
        """Every setting that shapes the run (JSON): all workers of a study must agree on them."""

    @abstractmethod
    def _survivors(self, population: list[Individual]) -> list[Individual]:
        """The individuals of ``P_{g-1}`` that are also in ``P_g`` without training again."""

    @abstractmethod
    def _offspring(
        self, population: list[Individual], generation: int, rng: np.random.Generator
    ) -> list[Assignment]:
        """The assignment of every slot of ``generation`` (>= 1), made from ``P_{generation-1}``."""

    def _settings_of_space(self) -> list[list[Any]]:
        return [[v.name, v.low, v.high, v.log, list(v.init or ())] for v in self._space.variables]

    # ------------------------------------------------------------------ the slot of each trial

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._check_single_objective(study)
        self._independent_sampler.before_trial(study, trial)
        ticket = read_ticket(trial.system_attrs)
        if ticket is not None and ASSIGNED_KEY in trial.system_attrs:
            return  # A re-run copy keeps its slot, parent and values.
        self._check_settings(study)
        storage, trial_id = study._storage, trial._trial_id
        if ticket is None:
            trials = storage.get_all_trials(study._study_id, deepcopy=False)
            ordinal = claim(trials, trial.number)
            storage.set_trial_system_attr(trial_id, TICKET_KEY, [ordinal, trial.number])
        else:
            ordinal = ticket[0]
        generation, slot = self._layout.locate(ordinal)
        storage.set_trial_system_attr(trial_id, self._get_generation_key(), generation)
        assignment = self._assign(study, trial, generation, slot)
        lineage = trial.number if assignment.lineage is None else assignment.lineage
        storage.set_trial_system_attr(trial_id, PARENT_KEY, assignment.parent)
        storage.set_trial_system_attr(trial_id, LINEAGE_KEY, lineage)
        storage.set_trial_user_attr(trial_id, POPULATION_ORIGIN_ATTR, assignment.origin)
        values = {n: float(v) for n, v in zip(self._space.names, assignment.values, strict=True)}
        storage.set_trial_system_attr(trial_id, ASSIGNED_KEY, values)  # last: marks it complete

    def get_trial_generation(self, study: Study, trial: FrozenTrial) -> int:
        """The generation of ``trial``'s slot (claimed by ``before_trial``; computed, not written,
        for a trial that has not claimed one yet)."""
        ticket = read_ticket(system_attrs_of(study, trial))
        if ticket is None:
            trials = study._storage.get_all_trials(study._study_id, deepcopy=False)
            return self._layout.locate(claim(trials, trial.number))[0]
        return self._layout.locate(ticket[0])[0]

    def _assign(self, study: Study, trial: FrozenTrial, generation: int, slot: int) -> Assignment:
        rng = np.random.default_rng([self._study_seed(study), generation])
        note = ""
        if generation > 0:
            population = self._individuals(study, self._closed_population(study, trial, generation))
            if population:
                return self._offspring(population, generation, rng)[slot]
            note = f" (no individual of generation {generation - 1} completed)"
        values = self._space.initial(rng, self._layout.size(generation))[slot]
        return Assignment(values, None, None, f"generation {generation}: initial values{note}")

    # ------------------------------------------------------------- generations and populations

    def select_parent(self, study: Study, generation: int) -> list[FrozenTrial]:
        """Population ``P_{generation-1}``: the survivors of ``P_{generation-2}`` and the completed
        trials of generation ``generation - 1`` (the first completed one of each slot)."""
        previous = self.get_parent_population(study, generation - 1)
        survivors = [i.trial for i in self._survivors(self._individuals(study, previous))]
        trials = study._storage.get_all_trials(study._study_id, deepcopy=False)
        where = ordinals(trials)
        low, high = self._layout.start(generation - 1), self._layout.start(generation)
        members: dict[int, FrozenTrial] = {}
        for t in sorted(trials, key=lambda t: t.number):
            if t.state == TrialState.COMPLETE and low <= where[t.number] < high:
                members.setdefault(where[t.number], t)
        chosen = {t.number: t for t in [*survivors, *members.values()]}
        return [chosen[n] for n in sorted(chosen)]

    def population(self, study: Study, generation: int) -> list[FrozenTrial]:
        """Population ``P_generation`` (EPBT's ``M_{g+1}``), in trial-number order.

        Members from earlier generations are elites carried over untrained.

        Raises:
            ValueError: ``generation`` has not closed (a slot is unclaimed or still running).
        """
        trials = study._storage.get_all_trials(study._study_id, deepcopy=False)
        if generation >= lowest_open(trials, self._layout):
            raise ValueError(
                f"Generation {generation} has not closed: a slot of it is unclaimed or running."
            )
        return self.get_parent_population(study, generation + 1)

    def elites(self, study: Study, generation: int) -> list[FrozenTrial]:
        """The members of ``P_generation`` carried over untrained from ``P_{generation-1}``:
        EPBT's elites (their trials belong to earlier generations); none in PBT."""
        members = self.population(study, generation)
        where = ordinals(study._storage.get_all_trials(study._study_id, deepcopy=False))
        return [t for t in members if where[t.number] < self._layout.start(generation)]

    def generation_closed(self, study: Study, generation: int) -> bool:
        """Whether every slot of ``generation`` and of the generations before it has finished."""
        trials = study._storage.get_all_trials(study._study_id, deepcopy=False)
        return generation < lowest_open(trials, self._layout)

    def individuals_alive(self, study: Study) -> list[int]:
        """Numbers of the trials whose final weights can still be a parent.

        That is the last closed population, every trial of the open generations that is
        running, waiting or complete, and the parent of every running or waiting trial (a late
        re-run of a slot of a closed generation still finds its parent). At a generation
        boundary it is exactly the population; the checkpoint of any other trial can be deleted.
        """
        trials = study._storage.get_all_trials(study._study_id, deepcopy=False)
        open_generation = lowest_open(trials, self._layout)
        alive = set()
        if open_generation > 0:
            alive = {t.number for t in self.get_parent_population(study, open_generation)}
        start = self._layout.start(open_generation)
        where = ordinals(trials)
        live = (TrialState.RUNNING, TrialState.WAITING, TrialState.COMPLETE)
        alive |= {t.number for t in trials if t.state in live and where[t.number] >= start}
        for t in trials:
            parent = t.system_attrs.get(PARENT_KEY)
            if t.state in live[:2] and isinstance(parent, int):
                alive.add(parent)
        return sorted(alive)

    def _closed_population(
        self, study: Study, trial: FrozenTrial, generation: int
    ) -> list[FrozenTrial]:
        """``P_{generation-1}``, once generation ``generation - 1`` has closed; waits till then.

        A slot's re-run copy that is waiting (not running) does not hold the generation open:
        if every worker is here, nobody is left to run it.
        """
        started = noted = time.monotonic()
        while True:
            trials = study._storage.get_all_trials(study._study_id, deepcopy=False)
            if lowest_open(trials, self._layout) >= generation:
                return self.get_parent_population(study, generation)
            if time.monotonic() - noted >= _NOTE_EVERY:
                noted = time.monotonic()
                _logger.warning(
                    f"Trial {trial.number} (generation {generation}) has waited "
                    f"{noted - started:.0f} s for generation {generation - 1} to finish. A "
                    "process that asks for a trial of a new generation before telling its trials "
                    "of the previous one waits forever."
                )
            _keep_alive(study, trial)
            time.sleep(self._poll_interval)

    def _individuals(self, study: Study, trials: Sequence[FrozenTrial]) -> list[Individual]:
        where = ordinals(study._storage.get_all_trials(study._study_id, deepcopy=False))
        return individuals(study, self._space, self._layout, trials, where)

    # ------------------------------------------------------------------- shared study settings

    def _check_settings(self, study: Study) -> None:
        if study._study_id in self._checked_studies:
            return
        key = f"{type(self).__name__}:settings"
        settings = self._settings()
        stored = study._storage.get_study_system_attrs(study._study_id).get(key)
        if stored is None:
            study._storage.set_study_system_attr(study._study_id, key, settings)
        elif stored != settings:
            raise ValueError(
                f"The study's {type(self).__name__} runs with the settings {stored}; this "
                f"sampler has {settings}. Every worker of a study must use the same settings."
            )
        self._checked_studies.add(study._study_id)

    def _study_seed(self, study: Study) -> int:
        """The seed, or (``seed=None``) one drawn once and kept in the study for every worker.

        Two workers that start at once may each store a seed; each uses its own for its
        generation-0 slot (independent draws either way), and later generations all read the
        one the storage kept.
        """
        if self._seed is not None:
            return self._seed
        key = f"{type(self).__name__}:seed"
        stored = study._storage.get_study_system_attrs(study._study_id).get(key)
        if not isinstance(stored, int) or isinstance(stored, bool) or stored < 0:
            stored = int(np.random.SeedSequence().generate_state(1, np.uint32)[0])
            study._storage.set_study_system_attr(study._study_id, key, stored)
        return stored

    # ------------------------------------------- parameters: ours from the slot, others delegated

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        space = dict(self._independent_sampler.infer_relative_search_space(study, trial))
        space.update(self._space.distributions())
        return space

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        self._check_single_objective(study)
        ours = set(self._space.names)
        others = {n: d for n, d in search_space.items() if n not in ours}
        params = self._independent_sampler.sample_relative(study, trial, others) if others else {}
        assigned = read_assigned(system_attrs_of(study, trial), self._space)
        if assigned is not None:
            params.update(
                (n, float(v)) for n, v in zip(self._space.names, assigned, strict=True)
                if n in search_space
            )
        return params

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        self._check_single_objective(study)
        if param_name in self._space.names:
            assigned = read_assigned(system_attrs_of(study, trial), self._space)
            if assigned is not None:
                value = float(assigned[self._space.names.index(param_name)])
                if not (
                    isinstance(param_distribution, FloatDistribution)
                    and param_distribution.low <= value <= param_distribution.high
                ):
                    raise ValueError(
                        f"`{param_name}` is {value} in this trial ({type(self).__name__} bounds "
                        f"it to {self._space.distributions()[param_name]}), but the objective "
                        f"suggests it from {param_distribution}. Suggest it as a float whose "
                        "bounds contain the sampler's."
                    )
                return value
        return self._independent_sampler.sample_independent(
            study, trial, param_name, param_distribution
        )


def _keep_alive(study: Study, trial: FrozenTrial) -> None:
    """While a trial waits inside ``study.ask``, ``study.optimize`` records no heartbeat for it
    and fails no stale trial: do both, so the wait neither looks dead nor waits on a dead worker.
    (``record_heartbeat`` and ``get_heartbeat_interval`` are public methods of the storages with
    heartbeats, ``RDBStorage`` and the cache ``study.optimize`` wraps around it.)"""
    storage = study._storage
    interval = getattr(storage, "get_heartbeat_interval", None)
    if interval is None or interval() is None:
        return
    storage.record_heartbeat(trial._trial_id)  # type: ignore[attr-defined]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
