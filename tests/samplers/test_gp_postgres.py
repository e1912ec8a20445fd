"""Several worker processes share one GP study on the real PostgreSQL server."""

from __future__ import annotations

import subprocess
import sys

import optuna
import pytest
from optuna.trial import TrialState

from optuna_glo.keys import CANONICAL_KEY, TREE_KEY
from optuna_glo.samplers.gp._attrs import SLOT_KEY

pytestmark = pytest.mark.postgres

GEN_KEY = "GeneticProgrammingSampler:generation"
PARENT_PREFIX = "GeneticProgrammingSampler:parent:"
POPULATION, ELITES = 6, 2

_WORKER = """
import sys, time
import optuna
import optuna_glo
from optuna_glo.losses.trees import size
from optuna_glo.samplers import GeneticProgrammingSampler

url, name, n_trials, fail_every, delay = sys.argv[1:6]
time.sleep(float(delay))  # workers join at different times
optuna.logging.set_verbosity(optuna.logging.WARNING)
sampler = GeneticProgrammingSampler(population_size=6, n_elites=2, seed=0)
study = optuna.load_study(study_name=name, storage=url, sampler=sampler)

def objective(trial):
    loss = optuna_glo.suggest_loss_tree(trial, untrainable="score")
    if int(fail_every) and trial.number % int(fail_every) == 0:
        raise RuntimeError("worker lost its GPU")
    if loss.cached_value is not None:
        return loss.cached_value
    return 1.0 / size(loss.tree)

study.optimize(objective, n_trials=int(n_trials), catch=(RuntimeError,))
"""


@pytest.fixture
def postgres_url(pg_url: str) -> str:
    """The fresh database of tests/conftest.py, through psycopg2."""
    return pg_url.replace("postgresql://", "postgresql+psycopg2://", 1)


def test_workers_share_generations_on_postgres(postgres_url: str) -> None:
    study = optuna.create_study(storage=postgres_url, study_name="gp", direction="maximize")
    # (trials, fail every n-th trial number, start delay in seconds) per worker.
    workers = [(20, 0, 0.0), (16, 7, 0.0), (10, 0, 1.0)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, postgres_url, "gp", str(n), str(fail), str(delay)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for n, fail, delay in workers
    ]
    for proc in procs:
        out, _ = proc.communicate(timeout=240)
        assert proc.returncode == 0, out

    trials = study.get_trials(deepcopy=False)
    assert len(trials) == sum(n for n, _, _ in workers)
    assert all(t.state in (TrialState.COMPLETE, TrialState.FAIL) for t in trials)
    assert any(t.state == TrialState.FAIL for t in trials)
    assert all(TREE_KEY in t.system_attrs for t in trials)

    by_gen: dict[int, list[optuna.trial.FrozenTrial]] = {}
    for t in trials:
        by_gen.setdefault(t.system_attrs[GEN_KEY], []).append(t)
    last = max(by_gen)
    assert sorted(by_gen) == list(range(last + 1))  # no generation skipped
    assert last >= 4  # 46 trials: at most 9 complete ones (+ failures) per generation
    for g in range(last):
        complete = [t for t in by_gen[g] if t.state == TrialState.COMPLETE]
        # Full, and overshooting only by trials that were running when it filled (one per worker).
        assert POPULATION <= len(complete) <= POPULATION + len(workers)

    study_attrs = study._storage.get_study_system_attrs(study._study_id)
    by_id = {t._trial_id: t for t in trials}
    for g in range(1, last + 1):
        parent_ids = study_attrs[PARENT_PREFIX + str(g)]
        parents = [by_id[i] for i in parent_ids]
        assert all(p.state == TrialState.COMPLETE for p in parents)  # failed trials never parent
        assert {p.system_attrs[GEN_KEY] for p in parents} == {g - 1}
        # Elites: slots 0 and 1 carry the two best distinct trees of the parents, unchanged.
        best: list[str] = []
        seen: set[str] = set()
        for p in sorted(parents, key=lambda t: (-t.value, t.number)):
            if p.system_attrs[CANONICAL_KEY] not in seen:
                seen.add(p.system_attrs[CANONICAL_KEY])
                best.append(p.system_attrs[TREE_KEY])
        elite_trees = {t.system_attrs[TREE_KEY] for t in by_gen[g] if t.system_attrs[SLOT_KEY] < 2}
        assert elite_trees <= set(best[:ELITES])
        assert elite_trees
