"""Batched image augmentation on the device (airbench-style: no DataLoader, no per-image loop).

Every operation takes a batch ``images`` of shape ``[N, C, H, W]`` (pixels in ``[0, 1]`` as the
loaders give them) and a ``torch.Generator``. Random numbers are drawn from the generator on the
generator's own device (the training loop's generator lives on the CPU) and moved to the images'
device: a few numbers per image, so the pixels themselves never leave the accelerator.

:class:`Augmentation` chains operations into the ``Task.augment`` callable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

#: One augmentation step: ``(images, generator) -> images``.
Op = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def _uniform(
    n: int, low: float, high: float, generator: torch.Generator, device: torch.device
) -> torch.Tensor:
    u = torch.rand(n, generator=generator, device=generator.device)
    return (low + (high - low) * u).to(device, non_blocking=True)


def _randint(
    n: int, high: int, generator: torch.Generator, device: torch.device
) -> torch.Tensor:
    r = torch.randint(0, high, (n,), generator=generator, device=generator.device)
    return r.to(device, non_blocking=True)


def _check_batch(images: torch.Tensor) -> None:
    if images.dim() != 4:
        raise ValueError(
            f"`images` must be a batch [N, C, H, W]. The specified `images` has shape "
            f"{tuple(images.shape)}."
        )


def crop_at(images: torch.Tensor, top: torch.Tensor, left: torch.Tensor, size: int) -> torch.Tensor:
    """Crop a ``size x size`` window per image, at rows ``top[i]`` and columns ``left[i]``.

    One gather over the batch: the row and column indices of every output pixel are built from
    ``top`` and ``left`` and index the batch at once.
    """
    n, c = images.shape[:2]
    offsets = torch.arange(size, device=images.device)
    rows = (top.view(n, 1) + offsets).view(n, 1, size, 1)
    cols = (left.view(n, 1) + offsets).view(n, 1, 1, size)
    batch = torch.arange(n, device=images.device).view(n, 1, 1, 1)
    channel = torch.arange(c, device=images.device).view(1, c, 1, 1)
    return images[batch, channel, rows, cols]


def random_crop(
    images: torch.Tensor, generator: torch.Generator, *, size: int, padding: int = 0
) -> torch.Tensor:
    """Zero-pad by ``padding`` pixels on each side, then crop a random ``size x size`` window.

    With ``padding=2, size=32`` this is TaylorGLO appendix A.2's "croppings with two pixel
    padding" (a random translation by up to two pixels); with ``padding=0, size=24`` the random
    24x24 crops of GLO section IV-A2.
    """
    _check_batch(images)
    if padding < 0:
        raise ValueError(f"`padding` must be >= 0. The specified `padding` is {padding}.")
    if padding:
        images = F.pad(images, (padding, padding, padding, padding))
    height, width = images.shape[-2:]
    if not 0 < size <= min(height, width):
        raise ValueError(
            f"`size` must be in [1, {min(height, width)}] for padded images of {height}x{width}. "
            f"The specified `size` is {size}."
        )
    n = images.shape[0]
    top = _randint(n, height - size + 1, generator, images.device)
    left = _randint(n, width - size + 1, generator, images.device)
    return crop_at(images, top, left, size)


def center_crop(images: torch.Tensor, size: int) -> torch.Tensor:
    """The central ``size x size`` window (GLO's evaluation-time view of its 24x24 crops)."""
    height, width = images.shape[-2:]
    if not 0 < size <= min(height, width):
        raise ValueError(
            f"`size` must be in [1, {min(height, width)}]. The specified `size` is {size}."
        )
    top, left = (height - size) // 2, (width - size) // 2
    return images[..., top : top + size, left : left + size]


def random_flip(
    images: torch.Tensor, generator: torch.Generator, *, p: float = 0.5
) -> torch.Tensor:
    """Mirror each image left-right with probability ``p``."""
    _check_batch(images)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"`p` must be in [0, 1]. The specified `p` is {p}.")
    flip = _uniform(images.shape[0], 0.0, 1.0, generator, images.device) < p
    return torch.where(flip.view(-1, 1, 1, 1), images.flip(-1), images)


def cutout(
    images: torch.Tensor,
    generator: torch.Generator,
    *,
    size: int,
    fill: Sequence[float] | float = 0.0,
) -> torch.Tensor:
    """Cutout (DeVries & Taylor 2017, section 3): mask one ``size x size`` square per image.

    As in the paper the square's centre is uniform over the whole image, so the square may lie
    partly outside it, and it is applied to every image. The paper masks normalized images with
    zeros, i.e. with the data set's mean colour; here images are masked before the model's input
    normalization, so pass the per-channel mean as ``fill``.
    """
    _check_batch(images)
    if size < 1:
        raise ValueError(f"`size` must be >= 1. The specified `size` is {size}.")
    n, c, height, width = images.shape
    cy = _randint(n, height, generator, images.device).view(n, 1, 1, 1)
    cx = _randint(n, width, generator, images.device).view(n, 1, 1, 1)
    rows = torch.arange(height, device=images.device).view(1, 1, height, 1)
    cols = torch.arange(width, device=images.device).view(1, 1, 1, width)
    half = size // 2
    inside = (
        (rows >= cy - half) & (rows < cy - half + size)
        & (cols >= cx - half) & (cols < cx - half + size)
    )
    fill_t = torch.as_tensor(fill, dtype=images.dtype, device=images.device)
    fill_t = fill_t.view(1, c, 1, 1) if fill_t.numel() > 1 else fill_t
    return torch.where(inside, fill_t, images)


def random_brightness(
    images: torch.Tensor, generator: torch.Generator, *, max_delta: float
) -> torch.Tensor:
    """Add one uniform ``[-max_delta, max_delta]`` offset to every pixel of an image.

    TensorFlow's ``random_brightness`` as GLO's CIFAR-10 pipeline used it ("randomly lightened or
    darkened", section IV-A2; the TensorFlow CIFAR-10 tutorial's ``max_delta=63`` on a 0-255
    scale is ``63 / 255`` here). No clipping, as there.
    """
    _check_batch(images)
    if max_delta < 0:
        raise ValueError(f"`max_delta` must be >= 0. The specified `max_delta` is {max_delta}.")
    delta = _uniform(images.shape[0], -max_delta, max_delta, generator, images.device)
    return images + delta.view(-1, 1, 1, 1)


def random_contrast(
    images: torch.Tensor, generator: torch.Generator, *, lower: float, upper: float
) -> torch.Tensor:
    """Scale each image's deviation from its per-channel mean by a factor in ``[lower, upper]``.

    TensorFlow's ``random_contrast`` (GLO section IV-A2: "their contrast is randomly perturbed";
    the TensorFlow CIFAR-10 tutorial uses ``lower=0.2, upper=1.8``).
    """
    _check_batch(images)
    if not 0.0 <= lower <= upper:
        raise ValueError(
            f"`lower` and `upper` must satisfy 0 <= lower <= upper. The specified values are "
            f"lower={lower}, upper={upper}."
        )
    factor = _uniform(images.shape[0], lower, upper, generator, images.device).view(-1, 1, 1, 1)
    mean = images.mean(dim=(-2, -1), keepdim=True)
    return (images - mean) * factor + mean


def per_image_standardization(images: torch.Tensor) -> torch.Tensor:
    """TensorFlow's ``per_image_standardization``: each image to zero mean and unit variance.

    ``(x - mean) / max(std, 1 / sqrt(num_pixels * channels))`` over all of an image's values (GLO
    section IV-A2: "an image's mean pixel value and variance are subtracted and divided").
    """
    flat = images.flatten(start_dim=-3)
    mean = flat.mean(dim=-1).view(*images.shape[:-3], 1, 1, 1)
    std = flat.std(dim=-1, unbiased=False).view(*images.shape[:-3], 1, 1, 1)
    floor = 1.0 / flat.shape[-1] ** 0.5
    return (images - mean) / std.clamp_min(floor)


@dataclass(frozen=True)
class Augmentation:
    """A named chain of batched operations, used as ``Task.augment``.

    Attributes:
        name: Short description for listings (e.g. ``"crop(pad 2) + flip + cutout 16"``).
        ops: The operations, applied in order with the same generator.
    """

    name: str
    ops: tuple[Op, ...]

    def __call__(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        for op in self.ops:
            images = op(images, generator)
        return images


def standard_augmentation(
    *, padding: int = 2, cutout_size: int | None = None, fill: Sequence[float] = (0.0,)
) -> Augmentation:
    """Random translation (zero padding + 32x32 crop) and horizontal flip, optionally Cutout.

    TaylorGLO appendix A.2 ("random, horizontal flips and croppings with two pixel padding",
    also used on SVHN per A.3); EPBT section 4.1 ("random flips and translations"), with He et
    al.'s (2016) 4-pixel padding.
    """
    size = 32

    def crop(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        return random_crop(x, g, size=size, padding=padding)

    ops: list[Op] = [crop, random_flip]
    name = f"crop(pad {padding}) + flip"
    if cutout_size is not None:
        def cut(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
            return cutout(x, g, size=cutout_size, fill=fill)

        ops.append(cut)
        name += f" + cutout {cutout_size}"
    return Augmentation(name, tuple(ops))


def glo_cifar_augmentation() -> Augmentation:
    """GLO section IV-A2's training distortions, with the TensorFlow CIFAR-10 tutorial's values.

    Random 24x24 crops of the 32x32 image, left-right flips, brightness offsets up to 63/255 and
    contrast factors in [0.2, 1.8]. Per-image standardization follows in the model's input stage
    (it is applied at evaluation too). Note that standardization undoes a brightness offset and,
    up to its variance floor, a contrast factor; the paper lists both, so both are kept.
    """

    def crop(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        return random_crop(x, g, size=24)

    def brightness(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        return random_brightness(x, g, max_delta=63 / 255)

    def contrast(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        return random_contrast(x, g, lower=0.2, upper=1.8)

    return Augmentation(
        "crop 24 + flip + brightness + contrast", (crop, random_flip, brightness, contrast)
    )
