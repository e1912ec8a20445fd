"""The CIFAR-10 / SVHN networks: parameter counts against their papers, shapes, gradients."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn

from optuna_glo.objectives import count_parameters
from optuna_glo.objectives._models_cifar import (
    AlexNetCifar,
    AllCNNC,
    GloCifarCNN,
    Normalize,
    PreActResNet,
    ResNetCifar,
    WideResNet,
)

# (model, exact count here, paper figure, digits the paper rounds to, source). The exact counts
# pin the architectures; the paper figures are what they must round to.
PARAMETER_COUNTS: list[tuple[Callable[[], nn.Module], int, float, int, str]] = [
    (GloCifarCNN, 1_068_298, 1_068_298, 0,
     "TensorFlow CIFAR-10 tutorial (GLO ref. [27]): 1,068,298 learnable parameters"),
    (AlexNetCifar, 2_472_266, 2.47e6, -4,
     "CIFAR-10 AlexNet behind TaylorGLO Table 1's 76.38%: 2.47M (pytorch-classification)"),
    (lambda: PreActResNet(20), 272_282, 0.27e6, -4, "He et al. 2016b Table 6: ResNet-20 0.27M"),
    (lambda: WideResNet(16, 8), 10_961_370, 11.0e6, -5,
     "Zagoruyko & Komodakis 2016 (CIFAR results tables): WRN-16-8 11.0M; EPBT 4.1: 11 million"),
    (lambda: WideResNet(28, 10), 36_479_194, 36.5e6, -5,
     "Zagoruyko & Komodakis 2016 (CIFAR results tables): WRN-28-10 36.5M (checks the builder)"),
    (lambda: WideResNet(40, 4), 8_949_210, 8.9e6, -5,
     "Zagoruyko & Komodakis 2016 (CIFAR results tables): WRN-40-4 8.9M (checks the builder)"),
    (lambda: WideResNet(28, 5), 9_132_634, 9.1e6, -5,
     "WRN-28-5 is not tabulated by its paper; the same builder as the rows above"),
    (lambda: ResNetCifar(32), 466_906, 0.47e6, -4, "EPBT section 4.1: ResNet-32, 0.47 million"),
    (lambda: ResNetCifar(110), 1_730_714, 1.7e6, -5, "He et al. 2016b Table 6: ResNet-110 1.7M"),
]


@pytest.mark.parametrize(("build", "exact", "paper", "digits", "source"), PARAMETER_COUNTS)
def test_parameter_count_matches_paper(
    build: Callable[[], nn.Module], exact: int, paper: float, digits: int, source: str
) -> None:
    n = count_parameters(build())
    assert n == exact, source
    assert round(n, digits) == paper, source


def test_allcnnc_parameter_count() -> None:
    # Springenberg et al. (2015) list All-CNN-C at about 1.3M parameters; the layers of their
    # Table 2 give 1,369,738.
    n = count_parameters(AllCNNC())
    assert n == 1_369_738
    assert 1.3e6 <= n < 1.4e6


SMALL_MODELS: list[tuple[str, Callable[[], nn.Module], int]] = [
    ("glo-cnn", GloCifarCNN, 24),
    ("alexnet", AlexNetCifar, 32),
    ("allcnnc", AllCNNC, 32),
    ("preresnet20", lambda: PreActResNet(20), 32),
    ("resnet32", lambda: ResNetCifar(32), 32),
    ("wrn16-8", lambda: WideResNet(16, 8, dropout=0.4), 32),
    ("wrn28-5", lambda: WideResNet(28, 5), 32),
]


@pytest.mark.parametrize(("name", "build", "size"), SMALL_MODELS, ids=[m[0] for m in SMALL_MODELS])
def test_forward_backward(name: str, build: Callable[[], nn.Module], size: int) -> None:
    torch.manual_seed(0)
    model = build()
    x = torch.rand(2, 3, size, size)
    logits = model(x)
    assert logits.shape == (2, 10)
    nn.functional.cross_entropy(logits, torch.tensor([3, 7])).backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads if g is not None) > 0


def test_glo_cnn_evaluates_the_centre_crop() -> None:
    torch.manual_seed(0)
    model = GloCifarCNN().eval()
    x = torch.rand(3, 3, 32, 32)
    assert torch.allclose(model(x), model(x[..., 4:28, 4:28]), atol=1e-6)


def test_glo_cnn_is_invariant_to_brightness_and_contrast() -> None:
    # Per-image standardization (GLO IV-A2) in the input stage undoes both distortions.
    torch.manual_seed(0)
    model = GloCifarCNN().eval()
    x = torch.rand(2, 3, 24, 24)
    assert torch.allclose(model(x), model(1.5 * x + 0.2), atol=1e-4)


def test_glo_lrn_matches_tensorflow_definition() -> None:
    # TensorFlow: out = x / (bias + alpha * sum_{|j - c| <= 4} x_j^2)^beta, with GLO's k = 1,
    # alpha = 0.001/9, beta = 0.75 and the tutorial's depth radius 4.
    lrn = next(m for m in GloCifarCNN().modules() if isinstance(m, nn.LocalResponseNorm))
    x = torch.rand(2, 64, 5, 5) * 10
    sq = x.pow(2)
    window = torch.stack([sq[:, max(0, c - 4) : c + 5].sum(1) for c in range(64)], dim=1)
    expected = x / (1.0 + (0.001 / 9) * window) ** 0.75
    assert torch.allclose(lrn(x), expected, rtol=1e-5)


def test_glo_cnn_initialisation_follows_tutorial() -> None:
    torch.manual_seed(0)
    model = GloCifarCNN()
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    fcs = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert float(convs[0].weight.detach().abs().max()) <= 0.1  # truncated at 2 std of 0.05
    assert torch.all(convs[1].bias == 0.1) and torch.all(convs[0].bias == 0)
    assert float(fcs[2].weight.detach().std()) == pytest.approx(1 / 192 * 0.88, rel=0.2)


def test_wrn_dropout_only_in_training() -> None:
    torch.manual_seed(0)
    model = WideResNet(10, 1, dropout=0.5)
    x = torch.rand(2, 3, 32, 32)
    model.eval()
    assert torch.equal(model(x), model(x))
    assert any(isinstance(m, nn.Dropout) for m in model.modules())


def test_normalize() -> None:
    norm = Normalize((0.5, 0.25, 0.0), (0.5, 0.25, 2.0))
    x = torch.ones(1, 3, 2, 2)
    assert torch.allclose(norm(x)[0, :, 0, 0], torch.tensor([1.0, 3.0, 0.5]))
    with pytest.raises(ValueError, match="`std`"):
        Normalize((0.0,), (0.0,))


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: WideResNet(15, 8), "`depth`"),
        (lambda: PreActResNet(21), "`depth`"),
        (lambda: ResNetCifar(33), "`depth`"),
    ],
)
def test_bad_depths(build: Callable[[], nn.Module], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build()
