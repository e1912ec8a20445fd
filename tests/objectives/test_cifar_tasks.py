"""The CIFAR-10 / SVHN task registrations: recipes at their boundaries, one step, a short run."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from _cifar_svhn_files import write_cifar10
from torch import nn

from optuna_glo.objectives import TASKS, count_parameters, get_task, train
from optuna_glo.objectives._cifar import load_cifar10
from optuna_glo.objectives._cifar_tasks import steps_per_epoch

EXPECTED = {
    "cifar10-glo-cnn": "cifar10",
    "cifar10-alexnet": "cifar10",
    "cifar10-allcnnc": "cifar10",
    "cifar10-allcnnc-cutout": "cifar10",
    "cifar10-preresnet20": "cifar10",
    "cifar10-wrn16-8": "cifar10",
    "cifar10-wrn16-8-cutout": "cifar10",
    "cifar10-wrn28-5": "cifar10",
    "cifar10-wrn28-5-cutout": "cifar10",
    "svhn-wrn16-8": "svhn",
    "svhn-wrn16-8-cutout": "svhn",
    "svhn-wrn28-5": "svhn",
    "svhn-wrn28-5-cutout": "svhn",
    "cifar10-resnet32": "cifar10",
    "svhn-resnet32": "svhn-extra",
}


def test_registered() -> None:
    for name, dataset in EXPECTED.items():
        assert TASKS[name].dataset == dataset
        assert TASKS[name].description


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_batch_norm_models_are_not_vectorizable(name: str) -> None:
    task = get_task(name)
    has_bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in task.model().modules())
    assert task.vectorizable == (not has_bn)
    if has_bn:
        assert "batch norm" in task.not_vectorizable_reason


def test_steps_per_epoch() -> None:
    assert steps_per_epoch(45_000, 128) == 351
    assert steps_per_epoch(45_000, 1024) == 43
    assert steps_per_epoch(47_225, 128) == 368
    assert steps_per_epoch(604_388 - 30_000, 128) == 4_487
    with pytest.raises(ValueError, match="`batch_size`"):
        steps_per_epoch(10, 0)


# (task, [(step, lr)], full_steps, partial_steps): each schedule at both sides of its boundaries.
SCHEDULES = [
    # GLO IV-A2: 0.05, x0.1 every 350 epochs of 43 steps (batch 1024).
    ("cifar10-glo-cnn", [(0, 0.05), (15_049, 0.05), (15_050, 0.005), (30_100, 0.0005)],
     20_000, 2_000),
    # Krizhevsky et al. 2012: 0.01, x0.1 three times (epochs 30, 60, 80 of 90).
    ("cifar10-alexnet", [(10_529, 0.01), (10_530, 0.001), (21_060, 1e-4), (28_080, 1e-5)],
     90 * 351, 20 * 351),
    # Springenberg et al. 2015: x0.1 after epochs 200, 250, 300 of 350.
    ("cifar10-allcnnc", [(70_199, 0.01), (70_200, 0.001), (87_750, 1e-4), (105_300, 1e-5)],
     350 * 351, 35 * 351),
    # He et al. 2016a/b: 0.1, /10 at 32k and 48k, 64k steps.
    ("cifar10-preresnet20", [(31_999, 0.1), (32_000, 0.01), (47_999, 0.01), (48_000, 0.001)],
     64_000, 6_400),
    # Zagoruyko & Komodakis 2016: 0.1, x0.2 at epochs 60, 120, 160 of 200.
    ("cifar10-wrn16-8", [(21_059, 0.1), (21_060, 0.02), (42_120, 0.004), (56_160, 0.0008)],
     200 * 351, 20 * 351),
    ("cifar10-wrn28-5-cutout", [(21_059, 0.1), (21_060, 0.02)], 200 * 351, 20 * 351),
    # Zagoruyko & Komodakis 2016 on SVHN: 0.01, x0.1 at epochs 80 and 120 of 160.
    ("svhn-wrn16-8", [(29_439, 0.01), (29_440, 0.001), (44_160, 1e-4)], 160 * 368, 16 * 368),
    # EPBT 4.1: 0.1, /10 at epochs 100 and 150 of 200; a partial run is one 8-epoch generation.
    ("cifar10-resnet32", [(35_099, 0.1), (35_100, 0.01), (52_650, 0.001)], 200 * 351, 8 * 351),
    # EPBT 4.2: 0.1, /10 at epochs 20 and 30 of 40; one 1-epoch generation.
    ("svhn-resnet32", [(89_739, 0.1), (89_740, 0.01), (134_610, 0.001)], 40 * 4_487, 4_487),
]


@pytest.mark.parametrize(("name", "points", "full", "partial"), SCHEDULES)
def test_schedule_at_boundaries(
    name: str, points: list[tuple[int, float]], full: int, partial: int
) -> None:
    recipe = get_task(name).recipe
    for step, lr in points:
        assert recipe.lr_at(step) == pytest.approx(lr, rel=1e-9), step
    assert (recipe.full_steps, recipe.partial_steps) == (full, partial)
    # Partial runs end before the first decay (TaylorGLO A.4's 10% / EPBT's one generation).
    assert recipe.partial_steps < min(recipe.lr_milestones)
    if "resnet32" not in name:  # TaylorGLO A.5 checks candidates at the tenth epoch
        n_train = 47_225 if name.startswith("svhn") else 45_000
        assert recipe.partial_steps > 10 * steps_per_epoch(n_train, recipe.batch_size)


@pytest.mark.parametrize(
    ("name", "momentum", "nesterov", "weight_decay", "batch"),
    [
        ("cifar10-glo-cnn", 0.0, False, 0.004, 1024),
        ("cifar10-alexnet", 0.9, False, 5e-4, 128),
        ("cifar10-allcnnc", 0.9, False, 1e-3, 128),
        ("cifar10-preresnet20", 0.9, False, 1e-4, 128),
        ("cifar10-wrn16-8", 0.9, True, 5e-4, 128),
        ("svhn-wrn28-5", 0.9, True, 5e-4, 128),
        ("cifar10-resnet32", 0.9, False, 1e-4, 128),
    ],
)
def test_optimizer(
    name: str, momentum: float, nesterov: bool, weight_decay: float, batch: int
) -> None:
    recipe = get_task(name).recipe
    opt = recipe.make_optimizer([nn.Parameter(torch.zeros(2))])
    group = opt.param_groups[0]
    assert isinstance(opt, torch.optim.SGD)
    assert (group["momentum"], group["nesterov"], group["weight_decay"]) == (
        momentum, nesterov, weight_decay,
    )
    assert recipe.batch_size == batch


def test_svhn_wrn_uses_dropout() -> None:
    # Zagoruyko & Komodakis (2016) train their SVHN WRNs with dropout 0.4.
    drops = [m.p for m in get_task("svhn-wrn16-8").model().modules() if isinstance(m, nn.Dropout)]
    assert drops and all(p == 0.4 for p in drops)
    assert not any(isinstance(m, nn.Dropout) for m in get_task("cifar10-wrn16-8").model().modules())


ONE_STEP = [
    "cifar10-glo-cnn", "cifar10-alexnet", "cifar10-allcnnc-cutout", "cifar10-preresnet20",
    "cifar10-wrn16-8", "svhn-wrn16-8-cutout", "cifar10-resnet32", "svhn-resnet32",
]


@pytest.mark.parametrize("name", ONE_STEP)
def test_one_recipe_step_changes_every_weight(name: str) -> None:
    task = get_task(name)
    torch.manual_seed(0)
    model = task.model()
    model.train()
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = task.recipe.make_optimizer(list(model.parameters()))
    x = torch.rand(2, 3, 32, 32)
    if task.augment is not None:
        x = task.augment(x, torch.Generator().manual_seed(0))
    loss = nn.functional.cross_entropy(model(x), torch.tensor([1, 2]))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    changed = [not torch.equal(b, p) for b, p in zip(before, model.parameters(), strict=True)]
    assert all(changed), [n for (n, _), c in zip(model.named_parameters(), changed, strict=True)
                          if not c]


@pytest.mark.parametrize("name", ["cifar10-glo-cnn", "cifar10-resnet32"])
def test_short_training_run_on_files(tmp_path: Path, name: str) -> None:
    # The real loop: on-disk CIFAR-10 batches, on-device augmentation, evaluation on 32x32.
    write_cifar10(tmp_path, n_per_batch=8, n_test=6)
    data = load_cifar10(tmp_path, download=False, n_val=10)
    task = get_task(name).with_recipe(batch_size=8, eval_batch_size=16)
    result = train(task, nn.CrossEntropyLoss(), steps=3, data=data, evaluate_test=True)
    assert not result.diverged and result.steps == 3
    assert 0.0 <= result.val_accuracy <= 1.0
    assert result.test_accuracy is not None


def test_parameter_counts_in_registry() -> None:
    # What `optuna-glo tasks` lists (model parameter counts from the registry).
    assert count_parameters(get_task("cifar10-wrn16-8").model()) == 10_961_370
    assert count_parameters(get_task("svhn-resnet32").model()) == 466_906


def test_glo_transfer_runs_baikal(tmp_path: Path) -> None:
    # studies/glo-cifar10-transfer.toml: Baikal on the GLO CIFAR-10 network, test accuracy.
    from optuna_glo.losses import get_loss

    write_cifar10(tmp_path, n_per_batch=8, n_test=6)
    data = load_cifar10(tmp_path, download=False, n_val=10)
    task = get_task("cifar10-glo-cnn").with_recipe(batch_size=8, eval_batch_size=16)
    result = train(task, get_loss("baikal"), steps=2, data=data, evaluate_test=True)
    assert not result.diverged and result.test_accuracy is not None


@pytest.mark.parametrize("name", ["cifar10-glo-cnn", "cifar10-alexnet"])
def test_vectorizable_tasks_train_as_a_stack(tmp_path: Path, name: str) -> None:
    # Marked vectorizable (no batch norm): the model stack takes them, and a member ends where
    # its one-by-one run ends (no dropout in these two networks).
    from optuna_glo.losses import get_loss
    from optuna_glo.objectives import train_stack

    write_cifar10(tmp_path, n_per_batch=8, n_test=6)
    data = load_cifar10(tmp_path, download=False, n_val=10)
    task = get_task(name).with_recipe(batch_size=8, eval_batch_size=16)
    losses = [get_loss("cross_entropy"), get_loss("baikal")]
    together = train_stack(
        task, losses, [0, 1], data, steps=2, data_seed=0, device=torch.device("cpu")
    )
    alone = [train(task, loss, steps=2, seed=s, data_seed=0, data=data)
             for loss, s in zip(losses, [0, 1], strict=True)]
    assert [r.val_accuracy for r in together] == [r.val_accuracy for r in alone]
