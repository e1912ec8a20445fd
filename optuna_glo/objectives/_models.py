"""The papers' small networks (larger CIFAR-10 / SVHN networks live in their own modules)."""

from __future__ import annotations

import itertools

from torch import nn


class BasicCNN(nn.Sequential):
    """The MNIST CNN of GLO section IV-A1 and TaylorGLO section 5.

    (1) 5x5 convolution with 32 filters, (2) 2x2 stride-2 max-pooling, (3) 5x5 convolution with 64
    filters, (4) 2x2 stride-2 max-pooling, (5) a 1024-unit fully-connected layer, (6) dropout with
    probability 0.4, (7) a 10-unit softmax layer (here: logits); ReLU activations. The
    convolutions pad to keep the size ("SAME" in the TensorFlow tutorial network the papers used),
    so the flattened size is 7 * 7 * 64. 3,274,634 parameters.
    """

    def __init__(self, in_channels: int = 1, n_classes: int = 10, dropout: float = 0.4) -> None:
        super().__init__(
            nn.Conv2d(in_channels, 32, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2, 2),
            nn.Conv2d(32, 64, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2, 2),
            nn.Flatten(),
            nn.Linear(7 * 7 * 64, 1024),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(1024, n_classes),
        )


class MLP(nn.Sequential):
    """A small fully-connected ReLU network, e.g. 64-64-10 for scikit-learn's 8x8 digits.

    Args:
        sizes: Input size, hidden sizes, number of classes.
        flatten: Flatten each input first (images ``[N, 1, 28, 28]`` into ``[N, 784]``).
    """

    def __init__(self, sizes: tuple[int, ...] = (64, 64, 10), *, flatten: bool = False) -> None:
        if len(sizes) < 2:
            raise ValueError(f"`sizes` needs an input and an output size. Got {sizes}.")
        layers: list[nn.Module] = [nn.Flatten()] if flatten else []
        for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
            layers.append(nn.Linear(n_in, n_out))
            if i < len(sizes) - 2:
                layers.append(nn.ReLU())
        super().__init__(*layers)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
