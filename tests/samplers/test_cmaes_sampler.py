"""FixedSpaceCmaEsSampler: CMA-ES whose state every worker rebuilds the same from the trials."""

from __future__ import annotations

import logging
import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.samplers import BaseSampler
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.testing.pytest_samplers import (
    BasicSamplerTestCase,
    RelativeSamplerTestCase,
    SingleOnlySamplerTestCase,
)
from optuna.trial import TrialState

from optuna_glo.samplers import taylorglo_sampler
from optuna_glo.samplers.cmaes import GENERATION_KEY, FixedSpaceCmaEsSampler, _state
from optuna_glo.samplers.cmaes._state import CmaSettings, GenerationReplay, trial_generation

optuna.logging.set_verbosity(optuna.logging.WARNING)

NAMES = ["x", "y", "z"]


def _sampler(seed: int | None = 0, population_size: int = 4) -> FixedSpaceCmaEsSampler:
    return FixedSpaceCmaEsSampler(
        param_names=NAMES, bounds=(-10.0, 10.0), start=1.0, sigma0=2.0,
        population_size=population_size, seed=seed,
    )


def _suggest(trial: optuna.Trial, low: float = -10.0, high: float = 10.0) -> optuna.Trial:
    for name in NAMES:
        trial.suggest_float(name, low, high)
    return trial


def _ask(study: optuna.Study) -> optuna.Trial:
    return _suggest(study.ask())


def _value(trial: optuna.Trial | optuna.trial.FrozenTrial) -> float:
    return float(sum((trial.params[n] - 3.0) ** 2 for n in NAMES))


def _points(study: optuna.Study) -> list[list[float]]:
    return [[t.params[n] for n in NAMES] for t in study.trials if t.params]


def _generations(study: optuna.Study) -> list[int | None]:
    return [t.system_attrs.get(GENERATION_KEY) for t in study.trials]


# -- Optuna's sampler contract, where it applies (the relative space is fixed: CMA-ES's own).


class TestTaylorGLOSamplerContract(BasicSamplerTestCase, SingleOnlySamplerTestCase):
    @pytest.fixture
    def sampler(self) -> Callable[[], BaseSampler]:
        return lambda: taylorglo_sampler(population_size=4, seed=0)


class TestFixedSpaceCmaEsSamplerRelativeContract:
    @pytest.fixture
    def sampler(self) -> Callable[[], BaseSampler]:
        return lambda: FixedSpaceCmaEsSampler(
            param_names=["x", "y"], bounds=(-10.0, 10.0), start=0.0, sigma0=3.0,
            population_size=4, seed=0,
        )

    # Suggests x and y in CMA-ES's space, one thread and two sharing the sampler.
    test_trial_relative_params = RelativeSamplerTestCase.test_trial_relative_params


# -- Draws


def test_candidates_are_drawn_from_the_start_with_the_step_size() -> None:
    settings = CmaSettings(("a", "b"), (-20.0, 20.0), 0.5, 1.2, 28)
    replay = GenerationReplay(settings)
    generation, optimizer = replay.current([], 1.0)
    x = np.array([replay.draw(optimizer, seed=0, generation=0, number=n) for n in range(10_000)])
    assert generation == 0
    # Standard errors: 0.012 for the mean, 0.0085 for the standard deviation.
    np.testing.assert_allclose(x.mean(axis=0), 0.5, atol=0.06)
    np.testing.assert_allclose(x.std(axis=0), 1.2, atol=0.04)


def test_a_candidate_depends_on_seed_generation_and_number_only() -> None:
    settings = CmaSettings(("a", "b"), (-20.0, 20.0), 0.0, 1.2, 4)
    forward, backward = GenerationReplay(settings), GenerationReplay(settings)
    _, a = forward.current([], 1.0)
    _, b = backward.current([], 1.0)
    one = [forward.draw(a, seed=3, generation=0, number=n) for n in range(6)]
    other = [backward.draw(b, seed=3, generation=0, number=n) for n in reversed(range(6))][::-1]
    assert all(np.array_equal(p, q) for p, q in zip(one, other, strict=True))
    assert not np.array_equal(one[0], forward.draw(a, seed=4, generation=0, number=0))
    assert not np.array_equal(one[0], forward.draw(a, seed=3, generation=1, number=0))


def test_candidates_stay_within_the_bounds() -> None:
    sampler = FixedSpaceCmaEsSampler(param_names=NAMES, bounds=(-1.0, 1.0), start=0.9, sigma0=5.0,
                                     seed=0)
    study = optuna.create_study(sampler=sampler)
    study.optimize(lambda t: _value(_suggest(t, -1.0, 1.0)), n_trials=30)
    assert np.abs(np.array(_points(study))).max() <= 1.0


def test_a_replay_follows_the_trials_it_is_given() -> None:
    settings = CmaSettings(("a", "b"), (-20.0, 20.0), 0.0, 1.2, 4)
    distributions = {n: optuna.distributions.FloatDistribution(-20.0, 20.0) for n in "ab"}

    def generation_0(values: list[float]) -> list[optuna.trial.FrozenTrial]:
        points = [(1.0, 2.0), (-1.0, 0.5), (0.3, -2.0), (2.0, 2.0)]
        return [
            optuna.trial.create_trial(
                params=dict(zip("ab", p, strict=True)), distributions=distributions, value=v,
                system_attrs={GENERATION_KEY: 0},
            )
            for p, v in zip(points, values, strict=True)
        ]

    a, b = generation_0([1.0, 2.0, 3.0, 4.0]), generation_0([4.0, 3.0, 2.0, 1.0])
    replay = GenerationReplay(settings)
    assert replay.current(a, 1.0)[0] == 1
    mean_a = replay.current(a, 1.0)[1].mean.copy()
    mean_b = replay.current(b, 1.0)[1].mean  # the kept generation 1 is not b's: rebuilt
    np.testing.assert_array_equal(mean_b, GenerationReplay(settings).current(b, 1.0)[1].mean)
    assert not np.array_equal(mean_a, mean_b)


def test_an_ask_late_in_a_search_sorts_only_its_newest_generations(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 15 told generations: a later call reuses them, checking only the newest (issue 13: the
    # per-trial cost must not grow with the study), and still answers as a rebuild from scratch.
    study = optuna.create_study(sampler=_sampler(population_size=4))
    study.optimize(lambda t: _value(_suggest(t)), n_trials=62)
    trials = study.get_trials(deepcopy=False)
    settings = CmaSettings(tuple(NAMES), (-10.0, 10.0), 1.0, 2.0, 4)
    replay = GenerationReplay(settings)
    generation, _ = replay.current(trials, 1.0)
    assert generation == 15
    sizes: list[int] = []
    told = _state.told_solutions

    def counted(group, *args):  # type: ignore[no-untyped-def]
        group = list(group)
        sizes.append(len(group))
        return told(group, *args)

    monkeypatch.setattr(_state, "told_solutions", counted)
    again, optimizer = replay.current(trials, 1.0)
    assert again == 15 and sizes == [4, 2]  # generation 14 (the newest told), then 15 (open)
    # Only those trials are read at all: trials 0-55 (generations 0-13) are finished and older.
    assert [t.number for t in replay.live(trials)] == list(range(56, 62))
    monkeypatch.setattr(_state, "told_solutions", told)
    np.testing.assert_array_equal(
        optimizer.mean, GenerationReplay(settings).current(trials, 1.0)[1].mean
    )


def test_a_generation_is_full_while_its_taken_candidates_run() -> None:
    # What a worker asks before claiming (runtime/worker/_claim.py): would a new trial be an
    # extra of a generation not yet told?
    study = optuna.create_study(sampler=_sampler(population_size=4))
    sampler = study.sampler
    assert isinstance(sampler, FixedSpaceCmaEsSampler)

    def full() -> bool:
        return sampler.generation_full(study, study.get_trials(deepcopy=False))

    done = [_ask(study) for _ in range(2)]
    for trial in done:
        study.tell(trial, _value(trial))
    running = _ask(study)
    assert not full()  # 3 of 4 taken
    unsuggested = study.ask()  # its generation is drawn at its first suggest: counted
    assert full()
    study.tell(unsuggested, state=TrialState.FAIL)
    assert not full()  # a failed trial's place is free again
    last = _ask(study)
    assert full()
    study.tell(running, _value(running))
    study.tell(last, _value(last))
    assert not full()  # generation 0 is told: generation 1 is empty
    assert _generations(study) == [0, 0, 0, None, 0]


# -- Generations


def test_failed_and_pruned_trials_are_skipped() -> None:
    study = optuna.create_study(sampler=_sampler())
    states = [TrialState.COMPLETE, TrialState.FAIL, TrialState.COMPLETE, TrialState.PRUNED,
              TrialState.COMPLETE, TrialState.COMPLETE, TrialState.COMPLETE]
    for state in states:
        trial = _ask(study)
        if state == TrialState.COMPLETE:
            study.tell(trial, _value(trial))
        else:
            study.tell(trial, state=state)
    # Generation 0 is told once four trials completed (trials 0, 2, 4 and 5).
    assert _generations(study) == [0, 0, 0, 0, 0, 0, 1]


def test_a_generation_waits_for_its_running_trials_and_ignores_late_ones() -> None:
    def search(late: TrialState) -> optuna.Study:
        study = optuna.create_study(sampler=_sampler())
        trials = [_ask(study) for _ in range(5)]
        for trial in trials[1:4]:
            study.tell(trial, _value(trial))
        study.tell(trials[4], _value(trials[4]) if late == TrialState.COMPLETE else None,
                   state=late)
        extra = _ask(study)  # trial 0 still runs, and it is one of the first four
        study.tell(trials[0], _value(trials[0]))
        # Finished after generation 0 was told (trials 0 to 3): not used.
        study.tell(extra, _value(extra) if late == TrialState.COMPLETE else None, state=late)
        for _ in range(8):
            trial = _ask(study)
            study.tell(trial, _value(trial))
        return study

    told, failed = search(TrialState.COMPLETE), search(TrialState.FAIL)
    assert _generations(told) == [0] * 6 + [1] * 4 + [2] * 4
    # Generation 0 was told trials 0 to 3 both times, so the later generations are the same.
    assert _points(told)[6:] == _points(failed)[6:]


def test_a_retry_reruns_its_candidate_in_its_generation() -> None:
    study = optuna.create_study(sampler=_sampler())
    trials = [_ask(study) for _ in range(5)]
    for trial in trials[:4]:
        study.tell(trial, _value(trial))
    # Trial 4 (of generation 0, now told) is given back: the worker's give-back (and Optuna's
    # RetryFailedTrialCallback) queue its parameters and system attrs again.
    given_back = study._storage.get_trial(trials[4]._trial_id)
    study.add_trial(optuna.trial.create_trial(
        state=TrialState.WAITING, params=given_back.params,
        distributions=given_back.distributions, system_attrs=given_back.system_attrs,
    ))
    study.tell(trials[4], state=TrialState.FAIL)
    for _ in range(6):
        trial = _ask(study)
        # A parameter the given-back trial had not reached: the retry asks the sampler again.
        trial.suggest_float("lr", 0.1, 1.0)
        study.tell(trial, _value(trial))
    retry = study.trials[5]
    assert {n: retry.params[n] for n in NAMES} == given_back.params
    # It stays in generation 0, where it is late: generation 1 is trials 6 to 9.
    assert _generations(study) == [0] * 6 + [1] * 4 + [2]


def test_the_search_minimises_and_maximises() -> None:
    for direction, sign in (("minimize", 1.0), ("maximize", -1.0)):
        study = optuna.create_study(direction=direction, sampler=_sampler(population_size=8))
        study.optimize(lambda t, s=sign: s * _value(_suggest(t)), n_trials=160)
        first, last = _points(study)[:8], _points(study)[-8:]
        distance = [np.abs(np.array(p) - 3.0).mean() for p in (np.mean(first, 0), np.mean(last, 0))]
        assert distance[1] < 0.25 * distance[0]


# -- Many workers


def _search(
    journal: Path, *, batch: int, workers: int = 1, fail: bool = False
) -> list[list[float]]:
    """Three generations of 4, asked ``batch`` at a time (each batch asked before any is told).

    ``workers`` samplers, each with its own storage object on the journal file (as worker
    processes), take turns; with ``fail``, every fifth trial fails.
    """
    name = f"batch{batch}-workers{workers}-fail{fail}"
    studies = [
        optuna.create_study(
            storage=JournalStorage(JournalFileBackend(str(journal))), study_name=name,
            sampler=_sampler(), load_if_exists=True,
        )
        for _ in range(workers)
    ]
    for step in range(12 // batch):
        study = studies[step % workers]
        trials = [_ask(study) for _ in range(batch)]
        for trial in trials:
            if fail and trial.number % 5 == 3:
                study.tell(trial, state=TrialState.FAIL)
            else:
                study.tell(trial, _value(trial))
    return _points(studies[0])


def test_batched_one_by_one_and_many_workers_sample_the_same(tmp_path: Path) -> None:
    # A journal file: every worker reads the others' trials back through JSON, as from a database.
    journal = tmp_path / "journal.log"
    one_by_one = _search(journal, batch=1)
    # Exactly equal: the same draws, told the same solutions.
    assert _search(journal, batch=4) == one_by_one  # whole generations
    assert _search(journal, batch=2, workers=2) == one_by_one  # halves, from two workers
    with_failures = _search(journal, batch=1, fail=True)
    assert len(with_failures) == 12 and with_failures != one_by_one
    assert _search(journal, batch=1, workers=3, fail=True) == with_failures


def test_same_seed_same_search_other_seed_other_search() -> None:
    def search(seed: int) -> list[list[float]]:
        study = optuna.create_study(sampler=_sampler(seed))
        study.optimize(lambda t: _value(_suggest(t)), n_trials=12)
        return _points(study)

    assert search(7) == search(7)
    assert search(7) != search(8)


def test_a_pickled_sampler_continues_the_search() -> None:
    sampler = _sampler()
    study = optuna.create_study(sampler=sampler)
    study.optimize(lambda t: _value(_suggest(t)), n_trials=6)
    copy = pickle.loads(pickle.dumps(sampler))
    twin = optuna.create_study(sampler=copy)
    for trial in study.trials:
        twin.add_trial(trial)
    study.optimize(lambda t: _value(_suggest(t)), n_trials=3)
    twin.optimize(lambda t: _value(_suggest(t)), n_trials=3)
    assert _points(twin)[-3:] == _points(study)[-3:]


# -- Other parameters, bad input


def test_other_parameters_go_to_the_independent_sampler_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    study = optuna.create_study(sampler=_sampler())

    def objective(trial: optuna.Trial) -> float:
        lr = trial.suggest_float("lr", 1e-3, 1.0, log=True)
        return _value(_suggest(trial)) * lr

    with caplog.at_level(logging.WARNING, logger="optuna_glo"):
        study.optimize(objective, n_trials=6)
    assert len({t.params["lr"] for t in study.trials}) == 6
    assert _generations(study) == [0, 0, 0, 0, 1, 1]
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "`lr`" in warnings[0] and "RandomSampler" in warnings[0]


def test_generations_read_from_the_storage_are_checked() -> None:
    def trial(value: object) -> optuna.trial.FrozenTrial:
        return optuna.trial.create_trial(value=0.0, system_attrs={GENERATION_KEY: value})

    assert [trial_generation(trial(v)) for v in (0, 3, -1, True, "1", 1.0, None)] == [
        0, 3, None, None, None, None, None,
    ]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"param_names": []}, r"`param_names` must be distinct names, at least one\..* \[\]\."),
        ({"param_names": ["a", "a"]}, r"`param_names` must be distinct .* \['a', 'a'\]\."),
        ({"bounds": (2.0, 5.0)}, r"`bounds` must contain the start 1\. .* \(2\.0, 5\.0\)\."),
        ({"sigma0": float("nan")}, r"`sigma0` must be positive\. .* is nan\."),
        ({"population_size": 1}, r"`population_size` must be None or an int >= 2 .* is 1\."),
        ({"seed": -1}, r"`seed` must be None or an int >= 0\. .* is -1\."),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, object], match: str) -> None:
    settings: dict[str, object] = {
        "param_names": NAMES, "bounds": (-10.0, 10.0), "start": 1.0, "sigma0": 2.0, **kwargs
    }
    with pytest.raises(ValueError, match=match):
        FixedSpaceCmaEsSampler(**settings)  # type: ignore[arg-type]
