"""EPBT in a plain Optuna study: TaylorGLO losses evolved while a population of networks trains.

A trial is one segment of training of one individual: it loads the weights (and optimizer state)
its parent trial ended with, trains a few steps with its own loss, keeps its weights for its
children, and returns its validation accuracy. The data (three Gaussian blobs) and the network
are toys, so this runs in seconds on a CPU; replace ``train_segment`` with your own training and
keep the weights somewhere every worker can read (optuna-glo uses Optuna's artifact store).
"""

from __future__ import annotations

import copy
from typing import Any

import optuna
import optunahub
import torch

module = optunahub.load_module("samplers/epbt")

#: Steps of full-batch SGD per segment.
SEGMENT_STEPS = 25


def blobs(seed: int = 0) -> tuple[torch.Tensor, ...]:
    """600 points of three 2-D Gaussian blobs: 400 to train on, 200 to validate on."""
    gen = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[0.0, 2.0], [2.0, -1.0], [-2.0, -1.0]])
    labels = torch.randint(0, 3, (600,), generator=gen)
    points = centres[labels] + 1.2 * torch.randn(600, 2, generator=gen)
    return points[:400], labels[:400], points[400:], labels[400:]


X_TRAIN, Y_TRAIN, X_VAL, Y_VAL = blobs()
#: Each trial's final weights and optimizer state, by trial number: what its children inherit.
WEIGHTS: dict[int, dict[str, Any]] = {}


def train_segment(trial: optuna.Trial, loss_fn: torch.nn.Module) -> float:
    """Train one segment from the parent's weights (fresh ones in generation 0)."""
    torch.manual_seed(trial.number)
    model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    parent = module.parent_of(trial.study, trial)
    if parent is not None:  # weights and optimizer state together, as the parent left them
        model.load_state_dict(WEIGHTS[parent]["model"])
        optimizer.load_state_dict(WEIGHTS[parent]["optimizer"])
    for _ in range(SEGMENT_STEPS):
        optimizer.zero_grad()
        loss = loss_fn(model(X_TRAIN), Y_TRAIN)  # a drop-in for nn.CrossEntropyLoss
        if not torch.isfinite(loss):
            break  # a loss that diverges leaves the weights where they were
        loss.backward()
        optimizer.step()
    WEIGHTS[trial.number] = copy.deepcopy(
        {"model": model.state_dict(), "optimizer": optimizer.state_dict()}
    )
    with torch.no_grad():
        return float((model(X_VAL).argmax(dim=1) == Y_VAL).float().mean())


def objective(trial: optuna.Trial) -> float:
    return train_segment(trial, module.suggest_taylor_loss(trial))


if __name__ == "__main__":
    # The paper runs 40 individuals (20 elites) for 25 generations; 8 and 4 suit this toy.
    sampler = module.EPBTSampler(population_size=8, n_elites=4, seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=sampler.n_trials(generations=6))
    best = study.best_trial
    print(f"Best validation accuracy {best.value:.3f} (trial {best.number}, generation "
          f"{module.generation_of(best)}); its last segment's loss:")
    print(module.readable_formula(module.load_loss(best), legend=True))
