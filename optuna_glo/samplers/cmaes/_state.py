"""Where CMA-ES's state lives: in the study's trials, from which any worker rebuilds it.

A worker writes one thing per trial: the generation it was sampled in (``cma:generation``, the key
Optuna's CmaEsSampler uses, which reports read). Everything else follows from the trials, by a
rule that gives every worker, at any moment, the same answer:

    Generation ``g`` is *told* once the first ``population_size`` of its trials by number that did
    not fail (nor were pruned, nor completed without the CMA-ES parameters) are all COMPLETE.
    The optimizer of generation ``g + 1`` is the optimizer of generation ``g`` told those trials.

Once true, this never changes: a finished trial stays finished and new trials get larger numbers.
So no optimizer is stored (nor unpickled from a shared database), no two workers can disagree on
a generation's trials, and a trial of an old generation that finishes late is simply not among
them. The price: a generation waits for its running trials ahead of the ``population_size``-th
complete one, even if later trials of it are complete; a trial whose worker died holds it until
the trial is failed as stale (the worker's heartbeats, ``optuna-glo worker``).
"""

from __future__ import annotations

import bisect
import copy
import operator
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import cmaes
import numpy as np
from optuna.trial import FrozenTrial, TrialState

from optuna_glo.keys import CMA_GENERATION_KEY

#: Trial system attr: the CMA-ES generation the trial's candidate was drawn from.
GENERATION_KEY = CMA_GENERATION_KEY

#: cmaes refuses to be told a point with a coordinate this large (``cmaes.CMA.tell``).
_MAX_ABS_PARAM = 1e32

#: A told solution as compared between calls: the point and the value to minimise.
_Solution = tuple[tuple[float, ...], float]


@dataclass(frozen=True)
class CmaSettings:
    """CMA-ES over ``names``, started at ``start`` in every one with step size ``sigma0``.

    Attributes:
        names: The parameters, in the order of CMA-ES's coordinates.
        bounds: ``(low, high)`` of every parameter; CMA-ES redraws a candidate outside them.
        start: The initial mean, in every coordinate.
        sigma0: The initial step size, in parameter units.
        population_size: CMA-ES lambda (``None``: cmaes's default, ``4 + floor(3 ln n)``).
    """

    names: tuple[str, ...]
    bounds: tuple[float, float]
    start: float
    sigma0: float
    population_size: int | None

    def initial_optimizer(self) -> cmaes.CMA:
        """The optimizer of generation 0."""
        n = len(self.names)
        return cmaes.CMA(
            mean=np.full(n, self.start),
            sigma=self.sigma0,
            bounds=np.tile(np.asarray(self.bounds, dtype=float), (n, 1)),
            # As Optuna's CmaEsSampler: redraw an infeasible candidate up to 10 n times, then clip.
            n_max_resampling=10 * n,
            population_size=self.population_size,
            seed=0,  # unused: each candidate has its own seed (``GenerationReplay.draw``)
        )


def trial_generation(trial: FrozenTrial) -> int | None:
    """The trial's generation, or ``None`` (read from a shared database: only an int >= 0)."""
    value = trial.system_attrs.get(GENERATION_KEY)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _solution(trial: FrozenTrial, names: Sequence[str], sign: float) -> _Solution | None:
    """A COMPLETE trial as a CMA-ES solution, or ``None`` if it lacks a usable point or value."""
    try:
        point = tuple(float(trial.params[name]) for name in names)
        value = sign * float(trial.value)  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError):
        return None
    if not all(abs(x) < _MAX_ABS_PARAM for x in point) or np.isnan(value):
        return None
    return point, value


def told_solutions(
    trials: Iterable[FrozenTrial], names: Sequence[str], population_size: int, sign: float
) -> tuple[_Solution, ...] | None:
    """The solutions generation's ``trials`` tell CMA-ES (module docstring), or ``None`` yet.

    Args:
        trials: The trials of one generation.
        names: The CMA-ES parameters, in coordinate order.
        population_size: CMA-ES lambda.
        sign: 1 to minimise the trials' values, -1 to maximise them.
    """
    solutions: list[_Solution] = []
    for trial in sorted(trials, key=lambda t: t.number):
        if trial.state in (TrialState.FAIL, TrialState.PRUNED):
            continue
        if trial.state != TrialState.COMPLETE:
            return None  # RUNNING or WAITING (a queued retry): it may yet be one of them
        solution = _solution(trial, names, sign)
        if solution is not None:
            solutions.append(solution)
            if len(solutions) == population_size:
                return tuple(solutions)
    return None


class GenerationReplay:
    """The optimizers of generations 0, 1, ... of one search, rebuilt from its trials.

    What was rebuilt is kept and reused while the trials still tell the same solutions (they
    always do within one study), so a call costs one tell per new generation and a sort of the
    newest generations' trials only. Threads sharing the
    sampler may call at once: the kept chain is replaced, never changed in place.
    """

    def __init__(self, settings: CmaSettings) -> None:
        self._settings = settings
        # (solutions told to reach it, optimizer) for generations 0, 1, ...
        self._chain: list[tuple[tuple[_Solution, ...], cmaes.CMA]] = [
            ((), settings.initial_optimizer())
        ]
        self._drawer: tuple[cmaes.CMA, cmaes.CMA] | None = None  # (optimizer, its copy to ask)
        # The number of the first trial a call may still need (``live``).
        self._live_from = 0
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_lock": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _lock=threading.Lock())

    @property
    def population_size(self) -> int:
        """CMA-ES lambda."""
        return int(self._chain[0][1].population_size)

    def current(self, trials: Sequence[FrozenTrial], sign: float) -> tuple[int, cmaes.CMA]:
        """The generation to sample now and its optimizer (never ask it: see ``draw``).

        A call reads only the trials a later call may still need (:meth:`live`): the kept chain
        is reused when the newest generation it was told still tells the same solutions (older
        ones cannot change: module docstring), and rebuilt from generation 0, from every trial,
        when not (trials of another study). So an ask costs about the same at trial 10,000 as at
        trial 100.

        Args:
            trials: All trials of the study, sorted by number (as Optuna's storages return them).
            sign: 1 to minimise the trials' values, -1 to maximise them.
        """
        kept = self._chain
        live = self.live(trials)
        newest_told = len(kept) - 2  # the generation whose solutions made kept[-1]; -1: none
        chain = kept
        if newest_told >= 0:
            group = [t for t in live if trial_generation(t) == newest_told]
            if self._told(group, sign) != kept[-1][0]:
                chain, live = [kept[0]], trials  # not this chain's trials: rebuild from all
        first = len(chain) - 1
        by_generation: dict[int, list[FrozenTrial]] = {}
        for trial in live:
            generation = trial_generation(trial)
            if generation is not None and generation >= first:
                by_generation.setdefault(generation, []).append(trial)
        chain = list(chain)
        while (solutions := self._told(by_generation.get(len(chain) - 1, ()), sign)) is not None:
            optimizer = copy.deepcopy(chain[-1][1])
            optimizer.tell([(np.array(point), value) for point, value in solutions])
            chain.append((solutions, optimizer))
        self._chain = chain
        self._live_from = _first_needed(live, len(chain) - 2, self._live_from)
        return len(chain) - 1, chain[-1][1]

    def live(self, trials: Sequence[FrozenTrial]) -> Sequence[FrozenTrial]:
        """``trials`` (sorted by number) from the first one a later call may still need: every
        trial before it is finished and of a generation older than the newest told (or of
        none), so it can never change an answer again."""
        start = self._live_from
        if start <= 0 or not trials:
            return trials
        i = bisect.bisect_left(trials, start, key=operator.attrgetter("number"))
        if (i > 0 and trials[i - 1].number >= start) or (
            i < len(trials) and trials[i].number < start
        ):
            return trials  # not sorted by number after all: read them all
        return trials[i:]

    def _told(self, trials: Iterable[FrozenTrial], sign: float) -> tuple[_Solution, ...] | None:
        return told_solutions(trials, self._settings.names, self.population_size, sign)

    def draw(self, optimizer: cmaes.CMA, *, seed: int, generation: int, number: int) -> np.ndarray:
        """Candidate ``number`` of ``generation``: a function of these, the seed and ``optimizer``.

        So a worker that asks a whole batch before telling any, one that asks one at a time, and
        any number of workers in other processes draw the same candidate for the same trial. The
        draw is ``cmaes.CMA.ask`` (feasible redraws, then clipping) reseeded through the public
        ``reseed_rng``, on a copy of ``optimizer`` made once per generation: asking advances the
        random state and caches the eigendecomposition, which the kept optimizer must not see
        (the tell of the next generation would then depend on what this process asked).
        """
        with self._lock:
            if self._drawer is None or self._drawer[0] is not optimizer:
                self._drawer = (optimizer, copy.deepcopy(optimizer))
            drawer = self._drawer[1]
            drawer.reseed_rng(
                int(np.random.SeedSequence([seed, generation, number]).generate_state(1)[0])
            )
            return drawer.ask()


_FINISHED = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)


def _first_needed(trials: Sequence[FrozenTrial], newest_told: int, previous: int) -> int:
    """The number of the first of ``trials`` a later call may need: one not finished (it may
    still be told, or draw its generation at its first suggest) or of a generation from
    ``newest_told`` on (the one a later call checks, and the untold ones)."""
    for trial in trials:
        generation = trial_generation(trial)
        if trial.state not in _FINISHED or (generation is not None and generation >= newest_told):
            return trial.number
    return trials[-1].number + 1 if trials else previous
