"""A matplotlib figure without pyplot state, and saving it as a PNG: shared by the plot modules."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def figure(width: float, height: float, dpi: int = 100) -> Figure:
    """A new figure of ``width`` x ``height`` inches."""
    from matplotlib.figure import Figure  # the OO API: no pyplot state, safe in any process

    return Figure(figsize=(width, height), dpi=dpi, layout="constrained")


def save(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` to ``path`` (its folder made if needed); return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
