"""The binary view of a loss (GLO section V-A, Fig. 6) as numbers and as a small PNG.

The lowest module of ``reports``: plots, dashboard notes and the workers' per-trial artifacts all
draw a loss's shape from here.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from optuna_glo.losses import binary_view

if TYPE_CHECKING:
    from PIL.ImageFont import FreeTypeFont
    from torch import nn

#: The font file inside matplotlib's data directory.
_DEJAVU = "fonts/ttf/DejaVuSans.ttf"

#: The binary view's horizontal axis: predictions for the true class, away from 0 and 1.
_Y0 = torch.linspace(0.005, 0.995, 199, dtype=torch.float64)


def binary_curve(loss: nn.Module) -> tuple[list[float], list[float]]:
    """``(y0, L)``: the loss of a binary sample with ``x0 = 1`` (GLO section V-A)."""
    values = binary_view(loss, _Y0)  # type: ignore[arg-type]
    return _Y0.tolist(), values.reshape(-1).tolist()


def loss_shape_png(
    loss: nn.Module, path: str | Path, *, title: str = "", size: tuple[int, int] = (640, 400)
) -> Path:
    """A PNG of one loss in the binary view, for a trial's artifact and dashboard note.

    Drawn with Pillow (which matplotlib depends on) rather than matplotlib: a worker draws one
    per trial, and this takes a few milliseconds where a matplotlib figure takes ~80 ms on this
    project's CPU. The text is matplotlib's DejaVu Sans, sized to read at the picture's size. The
    curve, its minimum (dotted, with its y0), and the axes' ranges are shown.
    """
    from PIL import Image, ImageDraw

    y0, values = binary_curve(loss)
    points = [(x, v) for x, v in zip(y0, values, strict=True) if math.isfinite(v)]
    width, height = size
    unit = height / 220  # the layout is drawn for a 220-pixel-high picture, then scaled
    font, small = _font(round(14 * unit)), _font(round(12 * unit))
    left, right, top, bottom = 68 * unit, width - 14 * unit, 26 * unit, height - 40 * unit
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    grey = (90, 90, 90)
    draw.rectangle((left, top, right, bottom), outline=grey, width=max(1, round(unit / 2)))
    if title:
        draw.text((width / 2, 4 * unit), title, fill="black", font=font, anchor="mt")
    for frac in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = left + frac * (right - left)
        draw.line((x, bottom, x, bottom + 3 * unit), fill=grey)
        draw.text((x, bottom + 5 * unit), f"{frac:g}", fill="black", font=small, anchor="mt")
    draw.text(((left + right) / 2, height - 3 * unit), "y0: prediction for the true class (x0 = 1)",
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
            draw.line((left - 3 * unit, py, left, py), fill=grey)
            draw.text((left - 5 * unit, py), f"{v:.3g}", fill="black", font=small, anchor="rm")
        x_min, v_min = min(points, key=lambda p: p[1])
        px, py = to_pixel(x_min, v_min)
        for y in range(round(top), round(bottom), round(6 * unit)):
            draw.line((px, y, px, min(y + 2 * unit, bottom)), fill=(150, 150, 150))
        draw.text((px + 4 * unit, top + 3 * unit), f"min at y0 = {x_min:.2f}", fill=grey,
                  font=small, anchor="lt" if x_min < 0.7 else "rt")
        draw.line([to_pixel(x, v) for x, v in points], fill=(214, 39, 40),
                  width=max(2, round(unit)), joint="curve")
        r = 3 * unit
        draw.ellipse((px - r, py - r, px + r, py + r), fill=(214, 39, 40))
    else:
        draw.text(((left + right) / 2, (top + bottom) / 2), "not finite", fill="black",
                  font=font, anchor="mm")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG", compress_level=1)  # fast; the picture is small anyway
    return path


@functools.cache
def _font(size: int) -> FreeTypeFont:
    """matplotlib's DejaVu Sans (shipped in its wheel) at ``size`` pixels."""
    import matplotlib
    from PIL import ImageFont

    return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / _DEJAVU), size)
