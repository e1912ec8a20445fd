"""Batched on-device augmentations: shapes, and that each does what it says."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from optuna_glo.objectives._augment import (
    Augmentation,
    center_crop,
    cutout,
    glo_cifar_augmentation,
    per_image_standardization,
    random_brightness,
    random_contrast,
    random_crop,
    random_flip,
    standard_augmentation,
)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _batch(n: int = 16, size: int = 32) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=_gen(123))


def _window_offsets(out: torch.Tensor, padded: torch.Tensor) -> list[tuple[int, int]]:
    size = out.shape[-1]
    span = padded.shape[-1] - size + 1
    return [
        (dy, dx) for dy in range(span) for dx in range(span)
        if torch.equal(padded[..., dy : dy + size, dx : dx + size], out)
    ]


def test_random_crop_with_padding_is_a_translation() -> None:
    x = _batch()
    out = random_crop(x, _gen(), size=32, padding=2)
    assert out.shape == x.shape
    padded = F.pad(x, (2, 2, 2, 2))
    offsets = [_window_offsets(out[i], padded[i]) for i in range(len(x))]
    assert all(len(o) == 1 for o in offsets)  # each output is exactly one window of its image
    assert len({o[0] for o in offsets}) > 1  # and the windows differ between images
    assert all(0 <= dy <= 4 and 0 <= dx <= 4 for ((dy, dx),) in offsets)


def test_random_crop_24_of_32() -> None:
    x = _batch()
    out = random_crop(x, _gen(), size=24)
    assert out.shape == (16, 3, 24, 24)
    assert all(len(_window_offsets(out[i], x[i])) == 1 for i in range(len(x)))


def test_center_crop() -> None:
    x = _batch(2)
    assert torch.equal(center_crop(x, 24), x[..., 4:28, 4:28])


def test_random_flip() -> None:
    x = _batch(200)
    out = random_flip(x, _gen())
    flipped = torch.tensor([torch.equal(o, i.flip(-1)) for o, i in zip(out, x, strict=True)])
    same = torch.tensor([torch.equal(o, i) for o, i in zip(out, x, strict=True)])
    assert bool((flipped | same).all())
    assert 70 < int(flipped.sum()) < 130
    assert torch.equal(random_flip(x, _gen(), p=1.0), x.flip(-1))
    assert torch.equal(random_flip(x, _gen(), p=0.0), x)


def test_cutout_masks_one_clipped_square() -> None:
    x = _batch(64) + 2.0  # no pixel equals the fill
    fill = (0.1, 0.2, 0.3)
    out = cutout(x, _gen(), size=16, fill=fill)
    assert out.shape == x.shape
    changed = out != x
    for i in range(len(x)):
        mask = changed[i, 0]
        assert torch.equal(changed[i, 1], mask) and torch.equal(changed[i, 2], mask)
        rows, cols = mask.any(1).nonzero().flatten(), mask.any(0).nonzero().flatten()
        assert len(rows) > 0
        # A full rectangle of at most 16x16, filled with the per-channel fill.
        assert int(mask.sum()) == len(rows) * len(cols)
        assert len(rows) <= 16 and len(cols) <= 16
        assert int(rows[-1] - rows[0]) + 1 == len(rows)
        for c, value in enumerate(fill):
            assert torch.allclose(out[i, c][mask], torch.tensor(value))
    # The centre is uniform over the image, so squares at the border are clipped (DeVries &
    # Taylor 2017): some masks are smaller than 16x16.
    sizes = changed[:, 0].flatten(1).sum(1)
    assert int(sizes.max()) == 256 and int(sizes.min()) < 256


def test_brightness_adds_one_offset_per_image() -> None:
    x = _batch()
    out = random_brightness(x, _gen(), max_delta=0.25)
    delta = (out - x).flatten(1)
    assert torch.allclose(delta, delta[:, :1].expand_as(delta), atol=1e-6)
    assert float(delta.abs().max()) <= 0.25 + 1e-6
    assert float(delta[:, 0].std()) > 0.01


def test_contrast_scales_around_channel_means() -> None:
    x = _batch()
    out = random_contrast(x, _gen(), lower=0.2, upper=1.8)
    mean = x.mean(dim=(-2, -1), keepdim=True)
    assert torch.allclose(out.mean(dim=(-2, -1), keepdim=True), mean, atol=1e-5)
    dev_in, dev_out = (x - mean).flatten(1), (out - mean).flatten(1)
    factor = (dev_in * dev_out).sum(1) / (dev_in * dev_in).sum(1)  # least squares, per image
    assert torch.allclose(dev_out, factor[:, None] * dev_in, atol=1e-5)
    assert float(factor.min()) >= 0.2 - 1e-4 and float(factor.max()) <= 1.8 + 1e-4
    assert float(factor.max() - factor.min()) > 0.3


def test_per_image_standardization() -> None:
    x = _batch() * 3 + 1
    out = per_image_standardization(x)
    flat = out.flatten(1)
    assert torch.allclose(flat.mean(1), torch.zeros(16), atol=1e-5)
    assert torch.allclose(flat.std(1, unbiased=False), torch.ones(16), atol=1e-4)
    # A constant image has zero spread: TensorFlow's floor 1/sqrt(N) keeps it finite (zeros).
    const = torch.full((1, 3, 8, 8), 0.7)
    assert torch.allclose(per_image_standardization(const), torch.zeros_like(const), atol=1e-5)


def test_pipelines_are_reproducible_and_keep_shapes() -> None:
    x = _batch()
    for aug, size in (
        (standard_augmentation(padding=2), 32),
        (standard_augmentation(padding=4, cutout_size=16, fill=(0.5, 0.5, 0.5)), 32),
        (glo_cifar_augmentation(), 24),
    ):
        assert isinstance(aug, Augmentation)
        a, b = aug(x, _gen(5)), aug(x, _gen(5))
        assert a.shape == (16, 3, size, size)
        assert torch.equal(a, b)
        assert not torch.equal(a, aug(x, _gen(6)))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda x: random_crop(x, _gen(), size=40), "`size`"),
        (lambda x: random_crop(x, _gen(), size=32, padding=-1), "`padding`"),
        (lambda x: random_flip(x, _gen(), p=1.5), "`p`"),
        (lambda x: cutout(x, _gen(), size=0), "`size`"),
        (lambda x: random_contrast(x, _gen(), lower=2.0, upper=1.0), "`lower`"),
        (lambda x: random_flip(x[0], _gen()), "`images`"),
    ],
)
def test_bad_arguments(call: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call(_batch(2))  # type: ignore[operator]
