"""GLO in a plain Optuna study: genetic programming over loss trees, then CMA-ES on coefficients.

Each trial trains a small classifier on three Gaussian blobs with the trial's loss and returns
its validation accuracy. The data and the network are toys, so this runs in seconds on a CPU;
replace ``train_and_score`` with your own training.
"""

from __future__ import annotations

import optuna
import optunahub
import torch

module = optunahub.load_module("samplers/glo_genetic_programming")


def blobs(seed: int = 0) -> tuple[torch.Tensor, ...]:
    """600 points of three 2-D Gaussian blobs: 400 to train on, 200 to validate on."""
    gen = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[0.0, 2.0], [2.0, -1.0], [-2.0, -1.0]])
    labels = torch.randint(0, 3, (600,), generator=gen)
    points = centres[labels] + 1.2 * torch.randn(600, 2, generator=gen)
    return points[:400], labels[:400], points[400:], labels[400:]


X_TRAIN, Y_TRAIN, X_VAL, Y_VAL = blobs()


def train_and_score(loss_fn: torch.nn.Module, seed: int = 0) -> float:
    """Train a 2-16-3 network for 100 full-batch SGD steps; return its validation accuracy."""
    torch.manual_seed(seed)  # the same initial weights for every candidate loss
    model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(100):
        optimizer.zero_grad()
        loss = loss_fn(model(X_TRAIN), Y_TRAIN)  # a drop-in for nn.CrossEntropyLoss
        if not torch.isfinite(loss):
            return 0.0  # the papers' fitness of a loss that makes training diverge
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return float((model(X_VAL).argmax(dim=1) == Y_VAL).float().mean())


def objective(trial: optuna.Trial) -> float:
    # A tree that cannot train (no x or no y leaf) is pruned here, before any training.
    loss_fn = module.suggest_glo_loss(trial)
    cached = getattr(loss_fn, "cached_value", None)  # GLO's fitness cache: a tree seen before
    return cached if cached is not None else train_and_score(loss_fn)


if __name__ == "__main__":
    # GLO's settings are the defaults (population 80, 6 elites, ...); a smaller population suits
    # this small budget: 3 GP generations of 12 trainable trees, then CMA-ES on the best tree's
    # coefficients.
    gp = module.GeneticProgrammingSampler(population_size=12, n_elites=2, seed=0)
    sampler = module.GLOSampler(discovery_generations=3, gp_sampler=gp, seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=300)  # pruned trials (untrainable trees) cost nothing
    print(f"Best validation accuracy {study.best_value:.3f} with the loss")
    print(module.readable_formula(module.load_loss(study), legend=True))
