"""Hand-made EPBT and PBT studies for the report tests: trials recorded as the samplers and the
population worker record them (generation, parent, lineage, params, accuracies, epochs).

The EPBT study (p = 4, k = 2, segments of 2 epochs, three generations)::

    gen 0: trials 0-3, values 0.5 0.7 0.6 0.4, fresh weights
    gen 1: trial 4 (parent 1) 0.65, trial 5 (parent 2) 0.62     -> P_1's best: trial 1, an elite
    gen 2: trial 6 (parent 4) 0.8,  trial 7 (parent 1) 0.75     -> P_2's best: trial 6

The best individual is trial 6, lineage 1 -> 4 -> 6 (generations 0, 1, 2); trial 7's lineage,
1 -> 7, skips generation 1, in which trial 1 was carried over untrained.
"""

from __future__ import annotations

import optuna
from optuna.distributions import FloatDistribution

from optuna_glo.keys import (
    EPBT_GENERATION_KEY,
    LINEAGE_KEY,
    PARENT_KEY,
    PBT_GENERATION_KEY,
    SGD_LR_PARAM,
    SGD_MOMENTUM_PARAM,
)
from optuna_glo.runtime.spec import StudySpec
from optuna_glo.runtime.study import create_study

SEGMENT = 2.0
#: (generation, parent, value, test accuracy) of trials 0-7.
EPBT_TRIALS = [
    (0, None, 0.5, 0.45), (0, None, 0.7, 0.66), (0, None, 0.6, 0.55), (0, None, 0.4, 0.38),
    (1, 1, 0.65, 0.6), (1, 2, 0.62, 0.61),
    (2, 4, 0.8, 0.77), (2, 1, 0.75, 0.72),
]


def theta_of(number: int) -> tuple[float, ...]:
    """Trial ``number``'s TaylorGLO parameters: distinct, in [-10, 10]."""
    return tuple(round(((number + 1) * (i + 3) * 0.737) % 20 - 10, 3) for i in range(8))


def spec(method: str, name: str, **table: object) -> StudySpec:
    return StudySpec.from_dict({
        "study": {"name": name, "method": method, "task": "digits-mlp", "generations": 3,
                  "seed": 0},
        method: {"population_size": 4, "segment_epochs": 2, **table},
    })


def add_trial(
    study: optuna.Study, key: str, gen: int, parent: int | None, value: float, test: float,
    params: dict[str, float], form: str | None, epochs: float,
) -> None:
    """Record a finished trial of generation ``gen`` as the sampler and the worker would."""
    number = len(study.get_trials(deepcopy=False))
    lineage = number if parent is None else study.trials[parent].system_attrs[LINEAGE_KEY]
    user_attrs: dict[str, object] = {
        "test_accuracy": test, "epochs_trained": epochs, "start_epoch": gen * SEGMENT,
    }
    if form is not None:
        user_attrs["taylor_form"] = form
    study.add_trial(optuna.trial.create_trial(
        params=params,
        distributions={n: FloatDistribution(-10.0, 10.0) for n in params},
        value=value, user_attrs=user_attrs,
        system_attrs={key: gen, PARENT_KEY: parent, LINEAGE_KEY: lineage},
    ))


def _epochs(study: optuna.Study, parent: int | None) -> float:
    before = 0.0 if parent is None else study.trials[parent].user_attrs["epochs_trained"]
    return before + SEGMENT


def epbt_study(url: str, *, form: str = "code", n_elites: int = 2,
               name: str = "epbt") -> optuna.Study:
    """The EPBT study of the module docstring, in ``form``; the sampler's settings record
    ``n_elites``."""
    study = create_study(spec("epbt", name, n_elites=n_elites, form=form), url)
    study._storage.set_study_system_attr(
        study._study_id, "EPBTSampler:settings", {"n_elites": n_elites}
    )
    for number, (gen, parent, value, test) in enumerate(EPBT_TRIALS):
        params = {f"taylor_theta_{i}": v for i, v in enumerate(theta_of(number))}
        add_trial(study, EPBT_GENERATION_KEY, gen, parent, value, test, params, form,
             _epochs(study, parent))
    return study


def pbt_sgd_study(url: str) -> optuna.Study:
    """PBT over SGD, four members for two generations; the best is trial 5, lineage 2 -> 5."""
    study = create_study(spec("pbt", "sgd", space="sgd"), url)
    rows = [(0, None, 0.5, 0.1, 0.9), (0, None, 0.6, 0.05, 0.8), (0, None, 0.7, 0.2, 0.5),
            (0, None, 0.4, 0.01, 0.99), (1, 2, 0.72, 0.24, 0.6), (1, 2, 0.8, 0.16, 0.4),
            (1, 1, 0.65, 0.05, 0.8), (1, 0, 0.55, 0.12, 0.9)]
    for gen, parent, value, lr, momentum in rows:
        add_trial(study, PBT_GENERATION_KEY, gen, parent, value, value - 0.02,
             {SGD_LR_PARAM: lr, SGD_MOMENTUM_PARAM: momentum}, None, _epochs(study, parent))
    return study
