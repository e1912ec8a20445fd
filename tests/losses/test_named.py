"""The named losses: cross-entropy (the baseline), Baikal, BaikalCMA, TaylorGLO's MNIST loss."""

from __future__ import annotations

import math

import pytest
import torch

from optuna_glo.losses import (
    NAMED_LOSSES,
    TAYLORGLO_MNIST_THETA,
    Baikal,
    BaikalCMA,
    CrossEntropy,
    binary_view,
    get_loss,
    taylorglo_mnist,
)

Y0 = torch.linspace(0.001, 0.999, 999, dtype=torch.float64)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_is_exactly_torch_cross_entropy(reduction: str) -> None:
    torch.manual_seed(0)
    logits = torch.randn(16, 10) * 5
    target = torch.randint(0, 10, (16,))
    expected = torch.nn.CrossEntropyLoss(reduction=reduction)(logits, target)
    torch.testing.assert_close(CrossEntropy(reduction=reduction)(logits, target), expected)


def test_baikal_is_equation_1() -> None:
    logits = torch.tensor([[2.0, 0.5, -1.0]])
    y = torch.softmax(logits, -1)[0]
    x = torch.tensor([0.0, 1.0, 0.0])
    expected = -(torch.log(y) - x / y).sum() / 3
    torch.testing.assert_close(Baikal()(logits, torch.tensor([1])), expected)


def test_baikal_cma_is_equation_2_with_the_papers_coefficients() -> None:
    c0, c1, c2, c3, c4, c5 = 2.7279, 0.9863, 1.5352, -1.1135, 1.3716, -0.8411
    logits = torch.tensor([[0.3, -0.2]])
    y = torch.softmax(logits, -1)[0]
    x = torch.tensor([1.0, 0.0])
    expected = -(c0 * (c1 * torch.log(c2 * y) - c3 * (c4 * x) / (c5 * y))).sum() / 2
    torch.testing.assert_close(BaikalCMA()(logits, torch.tensor([0])), expected)


def test_binary_view_minima_as_in_glo_section_v() -> None:
    # GLO V-A: "the minimum for the Baikal loss where x = 1 lies around 0.71, while the minimum
    # for the BaikalCMA loss where x = 1 lies around 0.77"; Baikal's is exactly 1/sqrt(2).
    baikal_min = Y0[binary_view(Baikal(), Y0).argmin()].item()
    assert baikal_min == pytest.approx(1 / math.sqrt(2), abs=1e-3)
    cma_min = Y0[binary_view(BaikalCMA(), Y0).argmin()].item()
    assert cma_min == pytest.approx(0.77, abs=0.005)


def test_cross_entropy_binary_view_decreases_monotonically() -> None:
    values = binary_view(CrossEntropy(), Y0)
    assert (values[1:] < values[:-1]).all()
    torch.testing.assert_close(values, -torch.log(Y0))


def test_binary_view_leaves_the_loss_unchanged() -> None:
    loss = taylorglo_mnist()
    binary_view(loss, Y0)
    assert loss.theta.dtype == torch.float32 and loss.reduction == "mean"


@pytest.mark.parametrize("name", sorted(NAMED_LOSSES))
def test_losses_stay_finite_where_softmax_underflows(name: str) -> None:
    # A confidently wrong prediction: softmax gives exactly 0 for the true class in float32.
    logits = torch.tensor([[200.0, -200.0, 0.0]], requires_grad=True)
    loss = get_loss(name)(logits, torch.tensor([1]))
    loss.backward()
    assert torch.isfinite(loss) and logits.grad is not None and torch.isfinite(logits.grad).all()


def test_taylorglo_mnist_is_appendix_c() -> None:
    assert TAYLORGLO_MNIST_THETA == (
        11.9039, -4.0240, 6.9796, 8.5834, -1.6677, 11.6064, 12.6684, -3.4674,
    )
    assert taylorglo_mnist().theta.tolist() == pytest.approx(TAYLORGLO_MNIST_THETA)


def test_unknown_loss_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="baikal_cma"):
        get_loss("focal")
