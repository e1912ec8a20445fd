"""Population-based training segments: resuming from inherited state, one by one or stacked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from torch import nn

from optuna_glo.losses import CrossEntropy, TaylorGLOLoss
from optuna_glo.objectives import (
    SegmentMember,
    SegmentStart,
    SegmentTrainer,
    Splits,
    Task,
    get_task,
    load_dataset,
    train_segments,
    weights_digest,
)
from optuna_glo.objectives.stack import fresh_weights, load_optimizer_state

CPU = torch.device("cpu")
# Momentum, so that inherited optimizer state matters; lr 0.1 trains digits-mlp well with it.
TASK: Task = get_task("digits-mlp").with_recipe(optimizer="momentum", momentum=0.9, lr=0.1)
THETAS = [
    [-1.0, 1.5, 0.5, -0.3, 0.2, 0.1, -0.2, 0.3],
    [-0.5, 2.0, 1.0, 0.5, -0.5, 0.2, 0.4, -0.1],
    [-1.5, 1.0, -0.2, 0.1, 0.3, -0.4, 0.2, 0.2],
]


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def digits() -> Splits:
    return load_dataset("digits")


class NaNLoss(nn.Module):
    """A loss whose value is NaN: training with it diverges at the first step."""

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return logits.mean() * float("nan")


def members(starts: list[SegmentStart | None]) -> list[SegmentMember]:
    return [
        SegmentMember(TaylorGLOLoss(theta), seed=10 + i, start=start)
        for i, (theta, start) in enumerate(zip(THETAS, starts, strict=True))
    ]


def run(data: Splits, ms: list[SegmentMember], path: str, start_step: int = 0) -> list:
    return train_segments(
        TASK, ms, data, start_step=start_step, steps=12, data_seed=3, device=CPU,
        path=path,  # type: ignore[arg-type]
    )


@pytest.mark.slow
def test_stacked_segments_equal_one_by_one_from_fresh_and_inherited_state(
    digits: Splits,
) -> None:
    first = run(digits, members([None] * 3), "sequential")
    assert all(o.optimizer and o.optimizer["state"] for o in first), "momentum was recorded"
    starts = [SegmentStart(o.model, o.optimizer) for o in first]
    # The second segment from the first's final states: stacked and one by one.
    one = run(digits, members(starts), "sequential", start_step=12)
    stacked = run(digits, members(starts), "vectorized", start_step=12)
    for a, b in zip(one, stacked, strict=True):
        assert a.result.val_accuracy == pytest.approx(b.result.val_accuracy, abs=1 / 300)
        assert a.result.test_accuracy == pytest.approx(b.result.test_accuracy, abs=1 / 300)
        for name in a.model:
            torch.testing.assert_close(a.model[name], b.model[name], rtol=1e-4, atol=1e-5)
        assert a.optimizer is not None and b.optimizer is not None
        for i, state in a.optimizer["state"].items():
            torch.testing.assert_close(
                state["momentum_buffer"], b.optimizer["state"][i]["momentum_buffer"],
                rtol=1e-4, atol=1e-5,
            )
        # Each member started from exactly the weights it inherited, on both paths.
        assert a.start_digest == b.start_digest
    assert [o.start_digest for o in one] == [o.digest for o in first]
    # A stack member's optimizer state is a single model's: it loads into torch's SGD.
    model = TASK.model()
    opt = TASK.recipe.make_optimizer(list(model.parameters()))
    assert stacked[0].optimizer is not None
    opt.load_state_dict(stacked[0].optimizer)


def test_inherited_momentum_changes_the_segment(digits: Splits) -> None:
    [first] = run(digits, members([None] * 3), "sequential")[:1]
    with_state = SegmentStart(first.model, first.optimizer)
    without = SegmentStart(first.model, None)
    a = train_segments(TASK, [SegmentMember(CrossEntropy(), 1, with_state)], digits,
                       start_step=12, steps=3, data_seed=3, device=CPU)[0]
    b = train_segments(TASK, [SegmentMember(CrossEntropy(), 1, without)], digits,
                       start_step=12, steps=3, data_seed=3, device=CPU)[0]
    assert a.start_digest == b.start_digest
    assert a.digest != b.digest


def test_schedule_follows_total_steps(digits: Splits) -> None:
    # A milestone at step 10: a segment that starts at step 10 trains entirely at lr * gamma.
    scheduled = TASK.with_recipe(lr_milestones=(10,), lr_gamma=0.1)
    decayed = TASK.with_recipe(lr=TASK.recipe.lr * 0.1)
    start = SegmentStart(fresh_weights(TASK, 5))

    def final(task: Task, start_step: int) -> dict[str, torch.Tensor]:
        [o] = train_segments(task, [SegmentMember(CrossEntropy(), 5, start)], digits,
                             start_step=start_step, steps=4, data_seed=1, device=CPU)
        return o.model

    late, early, reference = final(scheduled, 10), final(scheduled, 0), final(decayed, 0)
    for name in late:
        torch.testing.assert_close(late[name], reference[name])
    assert weights_digest(early) != weights_digest(late)


def test_loading_optimizer_state_keeps_the_child_hyperparameters() -> None:
    model = TASK.model()
    parent = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.5)
    model(torch.ones(2, 64)).sum().backward()
    parent.step()
    child = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    load_optimizer_state(child, parent.state_dict())
    assert child.param_groups[0]["lr"] == 0.01 and child.param_groups[0]["momentum"] == 0.9
    buf = parent.state[next(iter(model.parameters()))]["momentum_buffer"]
    first = next(iter(model.parameters()))
    assert torch.equal(child.state[first]["momentum_buffer"], buf)
    # A copy: training the child leaves the parent's state (a checkpoint in memory) as it was.
    assert child.state[first]["momentum_buffer"] is not buf


def test_a_diverged_member_keeps_its_starting_state(digits: Splits) -> None:
    start = SegmentStart(fresh_weights(TASK, 2))
    huge = NaNLoss()
    out = train_segments(
        TASK, [SegmentMember(huge, 2, start), SegmentMember(CrossEntropy(), 3, start)], digits,
        start_step=0, steps=20, data_seed=0, device=CPU, path="vectorized",
    )
    assert out[0].result.diverged and out[0].result.value == 0.0
    assert out[0].digest == out[0].start_digest == weights_digest(start.model)
    assert out[0].optimizer is None
    assert not out[1].result.diverged and out[1].digest != out[1].start_digest


def test_segment_trainer_lengths(digits: Splits) -> None:
    trainer = SegmentTrainer(get_task("digits-mlp"), segment_epochs=2, seed=7, device="cpu")
    trainer._data = digits
    assert trainer.steps_per_epoch == len(digits.train_y) // 64
    assert trainer.segment_steps == 2 * trainer.steps_per_epoch
    assert trainer.start_step(3) == 3 * trainer.segment_steps
    assert trainer.data_seed(3) != trainer.data_seed(4)
    assert trainer.member_seed(0, 1) != trainer.member_seed(1, 1)
    with pytest.raises(ValueError, match="exactly one of `segment_epochs` and `segment_steps`"):
        SegmentTrainer(TASK, segment_epochs=1, segment_steps=4)
    with pytest.raises(ValueError, match="segment length must be an int >= 1"):
        SegmentTrainer(TASK, segment_steps=0)
