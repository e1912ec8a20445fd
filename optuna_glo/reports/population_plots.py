"""Pictures of an EPBT or PBT study (matplotlib, Agg backend; no display needed).

* :func:`plot_population_accuracy`: test and validation accuracy of the population's best
  individual at the end of each generation, over epochs trained, with the best individual's
  lineage and cross-entropy trained alone as long (EPBT Fig. 2);
* :func:`plot_lineage_losses`: the best individual's ancestry of TaylorGLO losses in the binary
  view, dark (early generations) to light (late), each shifted to 0 at ``y0 = 1``, cross-entropy
  beside them (EPBT Fig. 5);
* :func:`plot_lineage_hyperparameters`: for PBT over SGD, which trains cross-entropy and so has
  no loss shapes, the learning rate and momentum along the best lineage instead.

The numbers come from :mod:`optuna_glo.reports.lineage`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna

from optuna_glo.keys import BASELINE_ATTR, SGD_LR_PARAM, SGD_MOMENTUM_PARAM
from optuna_glo.losses import CrossEntropy
from optuna_glo.reports._figures import figure, save
from optuna_glo.reports.lineage import (
    Point,
    lineage_hyperparameters,
    lineage_points,
    lineage_shapes,
    population_best,
    segment_epochs,
)
from optuna_glo.reports.shapes import binary_curve


def baseline_test_accuracy(study: optuna.Study) -> float | None:
    """The final test accuracy of cross-entropy trained alone for the population's total steps
    (``optuna-glo run`` stores it), or None when absent or unreadable."""
    stored: Any = study.user_attrs.get(BASELINE_ATTR)
    try:
        value = float(stored["test_accuracy"])
    except (TypeError, KeyError, ValueError, OverflowError):
        return None
    return value if 0.0 <= value <= 1.0 else None


def plot_population_accuracy(study: optuna.Study, path: str | Path) -> Path:
    """EPBT Fig. 2 for one run: accuracy over epochs of the population's best and its lineage."""
    best, lineage = population_best(study), lineage_points(study)
    if not best:
        raise ValueError(f"Study {study.study_name!r} has no completed trial to plot.")
    fig = figure(7.5, 4.5)
    ax = fig.add_subplot()
    for points, name, color in ((best, "population's best", "tab:red"),
                                (lineage, "best individual's lineage", "tab:blue")):
        tested = [(p.epoch, p.test_accuracy) for p in points if p.test_accuracy is not None]
        if tested:
            ax.plot(*zip(*tested, strict=True), marker="o", color=color, label=f"{name}: test")
        ax.plot([p.epoch for p in points], [p.val_accuracy for p in points], "--", marker=".",
                color=color, alpha=0.7, label=f"{name}: validation")
    baseline = baseline_test_accuracy(study)
    if baseline is not None:
        ax.axhline(baseline, color="0.4", linestyle=":",
                   label="cross-entropy alone, as long: final test")
    ax.set_xlabel(f"epochs trained ({_segments(best)})")
    ax.set_ylabel("accuracy")
    ax.set_title(f"{study.study_name}: population's best per generation")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return save(fig, path)


def _segments(points: list[Point]) -> str:
    last = points[-1]
    return f"{last.generation + 1} generations, {last.epoch / (last.generation + 1):g} epochs each"


def plot_lineage_losses(study: optuna.Study, path: str | Path) -> Path:
    """EPBT Fig. 5: the best individual's ancestry of losses, coloured by generation."""
    import matplotlib
    from matplotlib import cm, colors
    from matplotlib.ticker import MaxNLocator

    shapes = lineage_shapes(study)
    if not shapes:
        raise ValueError(
            f"Study {study.study_name!r}'s best lineage trains no TaylorGLO loss: no loss shapes "
            "to draw (PBT over SGD trains cross-entropy)."
        )
    seg = segment_epochs(study)
    gens = [s.generation for s in shapes]
    norm = colors.Normalize(vmin=min(gens), vmax=max(max(gens), min(gens) + 1))
    cmap = matplotlib.colormaps["viridis"]  # EPBT Fig. 5: early generations dark, late light
    fig = figure(10, 4)
    ax, ax_ce = fig.subplots(1, 2, width_ratios=(2, 1))
    for shape in shapes:
        ax.plot(shape.y0, shape.shifted, color=cmap(norm(shape.generation)), linewidth=1.5,
                label=f"gen {shape.generation} (trial {shape.trial})")
    bar = fig.colorbar(cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax,
                       label=f"generation g: epochs {seg:g} g to {seg:g} (g + 1)")
    bar.ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    y0, values = binary_curve(CrossEntropy())
    ax_ce.plot(y0, values, color="black", linewidth=1.5)
    ax_ce.set_title("cross-entropy")
    ax.set_title(f"{study.study_name}: best individual's loss ancestry")
    for a in (ax, ax_ce):
        a.set_xlim(0, 1)
        a.set_xlabel("y0 (prediction for the true class)")
        a.grid(alpha=0.3)
    ax.set_ylabel("loss at x0 = 1, shifted to 0 at y0 = 1")
    ax_ce.set_ylabel("loss at x0 = 1")
    if len(shapes) <= 12:
        ax.legend(fontsize=7)
    return save(fig, path)


def plot_lineage_hyperparameters(study: optuna.Study, path: str | Path) -> Path:
    """PBT over SGD: the learning rate and momentum the best lineage trained with, per epoch.
    (EPBT Figs. 5-6 draw losses; this baseline trains cross-entropy throughout.)"""
    schedule = lineage_hyperparameters(study)
    shown = [n for n in (SGD_LR_PARAM, SGD_MOMENTUM_PARAM) if n in schedule]
    if not shown:
        raise ValueError(
            f"Study {study.study_name!r}'s best lineage has no SGD learning rate or momentum."
        )
    end = lineage_points(study)[-1].epoch
    fig = figure(7, 2.6 * len(shown))
    for ax, name in zip(fig.subplots(len(shown), 1, squeeze=False)[:, 0], shown, strict=True):
        starts, values = zip(*schedule[name], strict=True)
        ax.step([*starts, end], [*values, values[-1]], where="post", color="tab:blue")
        ax.set_ylabel({SGD_LR_PARAM: "learning rate", SGD_MOMENTUM_PARAM: "momentum"}[name])
        if name == SGD_LR_PARAM:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.set_xlabel("epoch")
    fig.suptitle(f"{study.study_name}: best individual's SGD schedule (cross-entropy loss)")
    return save(fig, path)


def plot_population_study(study: optuna.Study, out_dir: str | Path) -> list[Path]:
    """The pictures of an EPBT or PBT study as PNGs in ``out_dir``; returns their paths."""
    out = Path(out_dir)
    written = [plot_population_accuracy(study, out / "population_accuracy.png")]
    if lineage_shapes(study):
        written.append(plot_lineage_losses(study, out / "lineage_losses.png"))
    else:
        written.append(plot_lineage_hyperparameters(study, out / "lineage_hyperparameters.png"))
    return written
