"""The binary view of a loss (GLO section V-A, Fig. 6) as numbers and as a small PNG.

The lowest module of ``reports``: plots, dashboard notes and the workers' per-trial artifacts all
draw a loss's shape from here.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from optuna_glo.losses import binary_view

if TYPE_CHECKING:
    from torch import nn

#: The binary view's horizontal axis: predictions for the true class, away from 0 and 1.
_Y0 = torch.linspace(0.005, 0.995, 199, dtype=torch.float64)


def binary_curve(loss: nn.Module) -> tuple[list[float], list[float]]:
    """``(y0, L)``: the loss of a binary sample with ``x0 = 1`` (GLO section V-A)."""
    values = binary_view(loss, _Y0)  # type: ignore[arg-type]
    return _Y0.tolist(), values.reshape(-1).tolist()


def loss_shape_png(
    loss: nn.Module, path: str | Path, *, title: str = "", size: tuple[int, int] = (320, 220)
) -> Path:
    """A small PNG of one loss in the binary view, for a trial's artifact.

    Drawn with Pillow (which matplotlib depends on) rather than matplotlib: a worker draws one
    per trial, and this takes a few milliseconds where a matplotlib figure takes ~80 ms on this
    project's CPU. The curve, its minimum (dotted), and the axes' ranges are shown.
    """
    from PIL import Image, ImageDraw, ImageFont

    y0, values = binary_curve(loss)
    points = [(x, v) for x, v in zip(y0, values, strict=True) if math.isfinite(v)]
    width, height = size
    left, right, top, bottom = 58, width - 10, 22, height - 34
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=11)
    small = ImageFont.load_default(size=10)
    draw.rectangle((left, top, right, bottom), outline=(90, 90, 90))
    if title:
        draw.text((width // 2, 4), title, fill="black", font=font, anchor="mt")
    for frac in (0.0, 0.5, 1.0):
        x = left + frac * (right - left)
        draw.line((x, bottom, x, bottom + 3), fill=(90, 90, 90))
        draw.text((x, bottom + 5), f"{frac:g}", fill="black", font=small, anchor="mt")
    draw.text(((left + right) // 2, height - 3), "y0 (prediction for the true class)",
              fill="black", font=small, anchor="mb")
    if points:
        lo = min(v for _, v in points)
        hi = max(v for _, v in points)
        span = hi - lo if hi > lo else max(1.0, abs(hi))
        lo_axis, hi_axis = lo - 0.05 * span, lo + 1.05 * span

        def to_pixel(x: float, v: float) -> tuple[float, float]:
            return (left + x * (right - left),
                    bottom - (v - lo_axis) / (hi_axis - lo_axis) * (bottom - top))

        for v in (lo, lo + span / 2, lo + span):
            _, py = to_pixel(0.0, v)
            draw.line((left - 3, py, left, py), fill=(90, 90, 90))
            draw.text((left - 5, py), f"{v:.4g}", fill="black", font=small, anchor="rm")
        x_min, v_min = min(points, key=lambda p: p[1])
        px, py = to_pixel(x_min, v_min)
        for y in range(top, bottom, 6):
            draw.line((px, y, px, min(y + 2, bottom)), fill=(150, 150, 150))
        draw.line([to_pixel(x, v) for x, v in points], fill=(214, 39, 40), width=2, joint="curve")
        draw.ellipse((px - 3, py - 3, px + 3, py + 3), fill=(214, 39, 40))
    else:
        draw.text(((left + right) // 2, (top + bottom) // 2), "not finite", fill="black",
                  font=font, anchor="mm")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG")
    return path
