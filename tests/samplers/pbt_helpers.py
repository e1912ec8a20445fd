"""A cheap stand-in for training, shared by the population-sampler tests and the worker
processes they start.

An individual's "progress" grows by one per segment it trains, carried from the trial whose
weights it inherits (``parent_of``); its fitness rewards progress and TaylorGLO values near 3, so
weight inheritance and elitism both show in the values.
"""

from __future__ import annotations

import time

import numpy as np
import optuna

from optuna_glo.samplers.pbt import parent_of

NAMES = [f"taylor_theta_{i}" for i in range(8)]


def progress(trial: optuna.Trial) -> int:
    """Segments trained by the weights the trial starts from, plus this one (a user attr)."""
    parent = parent_of(trial.study, trial)
    before = 0 if parent is None else trial.study.trials[parent].user_attrs["progress"]
    trial.set_user_attr("progress", before + 1)
    return before + 1


def objective(trial: optuna.Trial, pause: float = 0.0) -> float:
    """Fitness of a TaylorGLO individual after one stand-in segment of ``pause`` seconds."""
    theta = np.array([trial.suggest_float(name, -10.0, 10.0) for name in NAMES])
    time.sleep(pause)
    return float(progress(trial) - np.mean((theta - 3.0) ** 2) / 100.0)
