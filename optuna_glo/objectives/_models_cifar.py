"""The papers' CIFAR-10 / SVHN networks, each as its own paper describes it.

Every model takes pixels in ``[0, 1]`` (as the loaders give them) and starts with its input
stage: per-channel normalization by the training set's mean and standard deviation (TaylorGLO
appendix A.2, EPBT section 4.1), or GLO's centre crop and per-image standardization (GLO section
IV-A2). Keeping that stage in the model makes training and evaluation see the same inputs with
no separate evaluation transform.

Parameter counts (``count_parameters``) and the papers' figures:

=================  ==========  =====================================================
model              here        paper
=================  ==========  =====================================================
GloCifarCNN        1,068,298   1,068,298 (TensorFlow CIFAR-10 tutorial, GLO ref. [27])
AlexNetCifar       2,472,266   2.47M (the CIFAR-10 AlexNet behind TaylorGLO's 76.4%)
AllCNNC            1,369,738   about 1.3M (Springenberg et al. 2015)
PreActResNet(20)   272,282     0.27M (He et al. 2016b, Table 6: ResNet-20)
WideResNet(16, 8)  10,961,370  11.0M (Zagoruyko & Komodakis 2016 results; EPBT 4.1: 11M)
WideResNet(28, 5)  9,132,634   not tabulated; WRN-28-10 here 36,479,194 vs 36.5M
ResNetCifar(32)    466,906     0.47M (EPBT section 4.1); He et al. 2016b: 0.46M
=================  ==========  =====================================================
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from optuna_glo.objectives._augment import center_crop, per_image_standardization


class Normalize(nn.Module):
    """Subtract a per-channel mean and divide by a per-channel standard deviation."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        if len(mean) != len(std) or any(s <= 0 for s in std):
            raise ValueError(
                f"`mean` and `std` must have the same length and `std` must be positive. The "
                f"specified values are mean={tuple(mean)}, std={tuple(std)}."
            )
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class CropAndStandardize(nn.Module):
    """GLO section IV-A2's input stage: a centre ``size x size`` crop of larger (evaluation)
    images, then per-image standardization "during training and evaluation"."""

    def __init__(self, size: int = 24) -> None:
        super().__init__()
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] > self.size or x.shape[-2] > self.size:
            x = center_crop(x, self.size)
        return per_image_standardization(x)


def _he_init(module: nn.Module) -> None:
    """He et al. (2015) initialisation of convolutions, ``N(0, 2 / fan_in)``; BN to identity."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.zeros_(m.bias)


# --------------------------------------------------------------------------------------------
# GLO's CIFAR-10 network (GLO section IV-A2; the TensorFlow CIFAR-10 tutorial, GLO ref. [27]).
# --------------------------------------------------------------------------------------------


class GloCifarCNN(nn.Module):
    """GLO section IV-A2's AlexNet-inspired CIFAR-10 CNN on 24x24 inputs.

    (1) 5x5 convolution with 64 filters and ReLU, (2) 3x3 max-pooling with stride 2, (3) local
    response normalization with k = 1, alpha = 0.001/9, beta = 0.75, (4) 5x5 convolution with 64
    filters and ReLU, (5) the same normalization, (6) 3x3 max-pooling with stride 2, (7) a
    384-unit fully-connected ReLU layer, (8) a 192-unit fully-connected linear layer, (9) softmax
    (here: 10 logits).

    Details from the network's source, the TensorFlow CIFAR-10 tutorial (GLO ref. [27]):
    convolutions and pools pad "SAME" (TensorFlow pads a stride-2 pool only at the bottom and
    right; after a ReLU, zero padding gives the same maxima as TensorFlow's -inf); the
    normalization window has depth radius 4 (9 channels) and TensorFlow's ``alpha`` multiplies
    the plain sum of squares, so PyTorch's ``LocalResponseNorm`` (which divides by the window
    size) takes ``alpha = 9 * 0.001/9``; weights are drawn from truncated normals (std 0.05 for
    convolutions, 0.04 for the hidden layers, 1/192 for the output layer) and biases are 0.1,
    except 0 in the first convolution and the output layer. Layer (8) is linear as GLO states
    (the tutorial applies a ReLU there). 1,068,298 parameters, as the tutorial states.
    """

    def __init__(self, n_classes: int = 10) -> None:
        super().__init__()
        self.input = CropAndStandardize(24)
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 5, padding=2), nn.ReLU(),
            nn.ZeroPad2d((0, 1, 0, 1)), nn.MaxPool2d(3, 2),
            nn.LocalResponseNorm(9, alpha=9 * (0.001 / 9), beta=0.75, k=1.0),
            nn.Conv2d(64, 64, 5, padding=2), nn.ReLU(),
            nn.LocalResponseNorm(9, alpha=9 * (0.001 / 9), beta=0.75, k=1.0),
            nn.ZeroPad2d((0, 1, 0, 1)), nn.MaxPool2d(3, 2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(6 * 6 * 64, 384), nn.ReLU(),
            nn.Linear(384, 192),
            nn.Linear(192, n_classes),
        )
        convs = [m for m in self.features if isinstance(m, nn.Conv2d)]
        fcs = [m for m in self.classifier if isinstance(m, nn.Linear)]
        for layer, std, bias in (
            (convs[0], 0.05, 0.0), (convs[1], 0.05, 0.1),
            (fcs[0], 0.04, 0.1), (fcs[1], 0.04, 0.1), (fcs[2], 1 / 192, 0.0),
        ):
            nn.init.trunc_normal_(layer.weight, std=std, a=-2 * std, b=2 * std)
            nn.init.constant_(layer.bias, bias)  # type: ignore[arg-type]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(self.input(x)))


# --------------------------------------------------------------------------------------------
# AlexNet (Krizhevsky et al. 2012) for 32x32 CIFAR-10 images.
# --------------------------------------------------------------------------------------------


class AlexNetCifar(nn.Module):
    """AlexNet (Krizhevsky et al. 2012, section 3.5) with its layers sized for 32x32 images.

    TaylorGLO (Table 1, ref. Krizhevsky et al. 2012) does not give its CIFAR-10 adaptation; its
    cross-entropy baseline, 76.38% test accuracy, matches the widely used CIFAR-10 AlexNet
    (2.47M parameters, 22.78% error in Wei Yang's pytorch-classification benchmarks), which this
    class builds from the layer description: five convolutions with AlexNet's kernel sizes
    (11x11 stride 4, 5x5, 3x3, 3x3, 3x3) and 64-192-384-256-256 filters, ReLUs, 2x2 max-pooling
    after the first, second and fifth, and one linear output layer. 2,472,266 parameters.
    """

    def __init__(
        self,
        n_classes: int = 10,
        *,
        mean: Sequence[float] = (0.0, 0.0, 0.0),
        std: Sequence[float] = (1.0, 1.0, 1.0),
    ) -> None:
        super().__init__()
        self.input = Normalize(mean, std)
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 11, stride=4, padding=5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(256, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(self.input(x)))


# --------------------------------------------------------------------------------------------
# All-CNN-C (Springenberg et al. 2015).
# --------------------------------------------------------------------------------------------


class AllCNNC(nn.Module):
    """All-CNN-C (Springenberg et al. 2015): model C with stride-2 convolutions for its pools.

    3x3 conv 96, 3x3 conv 96, 3x3 conv 96 with stride 2 (replacing max-pooling), 3x3 conv 192,
    3x3 conv 192, 3x3 conv 192 with stride 2, 3x3 conv 192 without padding, 1x1 conv 192, 1x1 conv
    10, global average pooling; ReLUs after every convolution but the last. Dropout 20% on the
    input and 50% after each stride-2 convolution (their experimental setup). The paper states no
    initialisation; He et al. (2015) initialisation is used, as for the other ReLU networks here.
    1,369,738 parameters (the paper lists about 1.3M).
    """

    def __init__(
        self,
        n_classes: int = 10,
        *,
        mean: Sequence[float] = (0.0, 0.0, 0.0),
        std: Sequence[float] = (1.0, 1.0, 1.0),
        input_dropout: float = 0.2,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()

        def conv(c_in: int, c_out: int, k: int, stride: int = 1, pad: int = 1) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, k, stride=stride, padding=pad), nn.ReLU()]

        self.input = Normalize(mean, std)
        self.net = nn.Sequential(
            nn.Dropout(input_dropout),
            *conv(3, 96, 3), *conv(96, 96, 3), *conv(96, 96, 3, stride=2),
            nn.Dropout(dropout),
            *conv(96, 192, 3), *conv(192, 192, 3), *conv(192, 192, 3, stride=2),
            nn.Dropout(dropout),
            *conv(192, 192, 3, pad=0), *conv(192, 192, 1, pad=0),
            nn.Conv2d(192, n_classes, 1),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        _he_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.input(x))


# --------------------------------------------------------------------------------------------
# Residual networks: pre-activation ResNet (He et al. 2016a), Wide ResNet (Zagoruyko &
# Komodakis 2016), and the original CIFAR ResNet (He et al. 2016b) of EPBT.
# --------------------------------------------------------------------------------------------


class PreActBlock(nn.Module):
    """BN-ReLU-conv3x3-BN-ReLU-[dropout]-conv3x3 plus shortcut (He et al. 2016a, Fig. 4e).

    Where the shape changes, the shortcut is a 1x1 (strided) convolution of the pre-activated
    input (He et al. 2016a; Zagoruyko & Komodakis 2016, Fig. 1 and section 2).
    """

    def __init__(self, c_in: int, c_out: int, stride: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.shortcut: nn.Module | None = None
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = torch.relu(self.bn1(x))
        skip = x if self.shortcut is None else self.shortcut(a)
        h = self.conv1(a)
        h = self.conv2(self.dropout(torch.relu(self.bn2(h))))
        return h + skip


class PreActResNet(nn.Module):
    """A CIFAR pre-activation residual network of ``depth`` = 6n + 2 layers, widths 16/32/64
    times ``widen`` (He et al. 2016a; Zagoruyko & Komodakis 2016 when ``widen > 1``).

    A 3x3 convolution with 16 filters, three groups of n pre-activation blocks (the second and
    third start with stride 2), a final BN-ReLU, global average pooling and a linear layer.
    ``PreActResNet(20)`` is TaylorGLO's PreResNet-20.
    """

    def __init__(
        self,
        depth: int = 20,
        widen: int = 1,
        n_classes: int = 10,
        *,
        dropout: float = 0.0,
        mean: Sequence[float] = (0.0, 0.0, 0.0),
        std: Sequence[float] = (1.0, 1.0, 1.0),
        blocks_per_group: int | None = None,
    ) -> None:
        super().__init__()
        n = blocks_per_group if blocks_per_group is not None else (depth - 2) // 6
        if blocks_per_group is None and (depth - 2) % 6:
            raise ValueError(
                f"`depth` must be 6n + 2 for a pre-activation ResNet. The specified `depth` is "
                f"{depth}."
            )
        if n < 1 or widen < 1:
            raise ValueError(
                f"`depth` and `widen` must give at least one block of width >= 16. The specified "
                f"values are depth={depth}, widen={widen}."
            )
        widths = (16 * widen, 32 * widen, 64 * widen)
        self.input = Normalize(mean, std)
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        blocks: list[nn.Module] = []
        c_in = 16
        for g, width in enumerate(widths):
            for b in range(n):
                stride = 2 if g > 0 and b == 0 else 1
                blocks.append(PreActBlock(c_in, width, stride, dropout))
                c_in = width
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(
            nn.BatchNorm2d(c_in), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
            nn.Linear(c_in, n_classes),
        )
        _he_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.conv1(self.input(x))))


class WideResNet(PreActResNet):
    """WRN-``depth``-``widen`` (Zagoruyko & Komodakis 2016, section 2 and its Table 1 layout).

    ``depth`` = 6N + 4 for N pre-activation blocks per group, as the paper counts it (WRN-16-8:
    N = 2; WRN-28-5: N = 4); widths 16k, 32k, 64k for k = ``widen``. The first block of each
    group changes the width, so its shortcut is a 1x1 convolution, in the first group too (16 to
    16k channels). ``dropout`` goes between a block's two convolutions (their dropout variant).
    """

    def __init__(
        self,
        depth: int,
        widen: int,
        n_classes: int = 10,
        *,
        dropout: float = 0.0,
        mean: Sequence[float] = (0.0, 0.0, 0.0),
        std: Sequence[float] = (1.0, 1.0, 1.0),
    ) -> None:
        if depth < 10 or (depth - 4) % 6:
            raise ValueError(
                f"`depth` must be 6n + 4 (n >= 1) for a Wide ResNet. The specified `depth` is "
                f"{depth}."
            )
        super().__init__(
            depth, widen, n_classes, dropout=dropout, mean=mean, std=std,
            blocks_per_group=(depth - 4) // 6,
        )


class BasicBlock(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN plus shortcut, then ReLU (He et al. 2016b, Fig. 2).

    Where the shape changes the shortcut is a strided 1x1 convolution with batch norm (He et al.
    2016b's option B), which makes ResNet-32 the 0.47M parameters EPBT section 4.1 states.
    """

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return torch.relu(h + self.shortcut(x))


class ResNetCifar(nn.Module):
    """The CIFAR ResNet of He et al. (2016b, section 4.2) with ``depth`` = 6n + 2 layers.

    A 3x3 convolution with 16 filters, BN and ReLU, three groups of n basic blocks with 16, 32
    and 64 filters (the second and third start with stride 2), global average pooling and a
    linear layer; He et al. (2015) initialisation (EPBT section 4.1: "initialized with the He
    method"). ``ResNetCifar(32)`` is EPBT's ResNet-32.
    """

    def __init__(
        self,
        depth: int = 32,
        n_classes: int = 10,
        *,
        mean: Sequence[float] = (0.0, 0.0, 0.0),
        std: Sequence[float] = (1.0, 1.0, 1.0),
    ) -> None:
        super().__init__()
        if depth < 8 or (depth - 2) % 6:
            raise ValueError(
                f"`depth` must be 6n + 2 (n >= 1) for a CIFAR ResNet. The specified `depth` is "
                f"{depth}."
            )
        n = (depth - 2) // 6
        self.input = Normalize(mean, std)
        self.stem = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU()
        )
        blocks: list[nn.Module] = []
        c_in = 16
        for g, width in enumerate((16, 32, 64)):
            for b in range(n):
                blocks.append(BasicBlock(c_in, width, 2 if g > 0 and b == 0 else 1))
                c_in = width
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, n_classes)
        )
        _he_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(self.input(x))))
