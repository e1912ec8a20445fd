"""Pictures of a loss search (matplotlib, Agg backend; no display needed).

* :func:`plot_binary_view`: the best loss in the binary view beside cross-entropy (GLO Fig. 6);
* :func:`plot_search_progress`: best and mean validation accuracy per generation (TaylorGLO
  Fig. 2);
* :func:`plot_generation_losses`: each generation's best loss, coloured by generation from blue
  to red and shifted to zero at ``y0 = 1`` (TaylorGLO Fig. 3a);
* :func:`plot_evaluation` and :func:`plot_training_curves`: what ``optuna-glo evaluate`` measured
  (GLO Fig. 3 and 5);
* EPBT and PBT studies: :mod:`optuna_glo.reports.population_plots` (EPBT Figs. 2 and 5);

The small per-trial picture the workers attach is :func:`optuna_glo.reports.shapes.loss_shape_png`.

matplotlib is imported inside the functions, so importing this module costs nothing.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optuna_glo.keys import EVALUATION_ATTR
from optuna_glo.losses import CrossEntropy, readable_formula
from optuna_glo.reports._figures import figure, save
from optuna_glo.reports.artifacts import has_runs, load_evaluations
from optuna_glo.reports.generations import generations, trial_generation
from optuna_glo.reports.lineage import is_population_study
from optuna_glo.reports.shapes import binary_curve

if TYPE_CHECKING:
    import optuna
    from torch import nn

_logger = logging.getLogger(__name__)


def plot_binary_view(loss: nn.Module, path: str | Path, *, label: str = "best loss") -> Path:
    """GLO Fig. 6: the loss at ``x0 = 1`` against ``y0``, cross-entropy in a panel beside it."""
    fig = figure(9, 3.6)
    ax_loss, ax_ce = fig.subplots(1, 2)
    for ax, the_loss, name, color in (
        (ax_loss, loss, label, "tab:red"), (ax_ce, CrossEntropy(), "cross-entropy", "tab:blue"),
    ):
        y0, values = binary_curve(the_loss)
        ax.plot(y0, values, color=color, linewidth=2)
        ax.set_xlim(0, 1)
        ax.set_xlabel("y0 (prediction for the true class; correct on the right)")
        ax.set_ylabel("loss at x0 = 1")
        ax.set_title(name)
        ax.grid(alpha=0.3)
    fig.suptitle(_wrap(readable_formula(loss), 100), fontsize=9)
    return save(fig, path)


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def plot_search_progress(
    study: optuna.Study, path: str | Path, *, population_size: int | None = None
) -> Path:
    """TaylorGLO Fig. 2: generation best, generation mean and all-time best validation accuracy;
    red dots where a new all-time best was found."""
    by_gen = generations(study, population_size)
    if not by_gen:
        raise ValueError(f"Study {study.study_name!r} has no completed trial to plot.")
    gens = list(by_gen)
    best = [max(t.value for t in by_gen[g] if t.value is not None) for g in gens]
    mean = [sum(t.value or 0.0 for t in by_gen[g]) / len(by_gen[g]) for g in gens]
    all_time, new_best, record = [], [], -math.inf
    for g, b in zip(gens, best, strict=True):
        if b > record:
            record = b
            new_best.append((g, b))
        all_time.append(record)
    fig = figure(7, 4)
    ax = fig.add_subplot()
    ax.plot(gens, all_time, color="black", linewidth=2, label="all-time best")
    ax.plot(gens, best, color="tab:blue", marker=".", label="generation best")
    ax.plot(gens, mean, color="tab:orange", marker=".", label="generation average")
    ax.plot(*zip(*new_best, strict=True), "o", color="tab:red", label="new best")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("generation")
    ax.set_ylabel("validation accuracy (partial training)")
    ax.set_title(f"{study.study_name}: search progress")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    return save(fig, path)


def plot_generation_losses(
    study: optuna.Study, path: str | Path, *, population_size: int | None = None
) -> Path:
    """TaylorGLO Fig. 3a: the best loss of each generation in the binary view, coloured from blue
    (first) to red (last) and shifted so that each is zero at ``y0 = 1``."""
    import matplotlib
    from matplotlib import cm, colors

    from optuna_glo.suggest import load_loss

    by_gen = generations(study, population_size)
    if not by_gen:
        raise ValueError(f"Study {study.study_name!r} has no completed trial to plot.")
    norm = colors.Normalize(vmin=min(by_gen), vmax=max(max(by_gen), min(by_gen) + 1))
    cmap = matplotlib.colormaps["coolwarm"]
    fig = figure(7, 4.5)
    ax = fig.add_subplot()
    for gen, trials in by_gen.items():
        best = max(trials, key=lambda t: t.value if t.value is not None else -math.inf)
        try:
            y0, values = binary_curve(load_loss(best))
        except ValueError:
            continue
        at_one = values[-1]
        ax.plot(y0, [v - at_one for v in values], color=cmap(norm(gen)), linewidth=1.2)
    fig.colorbar(cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label="generation")
    ax.set_xlim(0, 1)
    ax.set_xlabel("y0 (prediction for the true class)")
    ax.set_ylabel("loss at x0 = 1, shifted to 0 at y0 = 1")
    ax.set_title(f"{study.study_name}: best loss of each generation")
    ax.grid(alpha=0.3)
    return save(fig, path)


def plot_evaluation(report: dict[str, Any], path: str | Path) -> Path:
    """Test accuracy of every run per loss, with mean and standard deviation (GLO Fig. 5)."""
    rows = report["rows"]
    fig = figure(max(5.0, 1.6 * len(rows) + 2), 4.2)
    ax = fig.add_subplot()
    for i, row in enumerate(rows):
        accs = row["test_accuracy"]
        # Each run as a grey dot on the left, mean and standard deviation in red on the right.
        spread = [i - 0.3 + 0.25 * k / max(1, len(accs) - 1) for k in range(len(accs))]
        ax.plot(spread, accs, ".", color="0.45", label="one run" if i == 0 else None)
        ax.errorbar(
            [i + 0.15], [row["mean"]], yerr=[row["std"] or 0.0], fmt="o", color="tab:red",
            capsize=6, label="mean (std)" if i == 0 else None,
        )
    ax.set_xticks(range(len(rows)), [_wrap(f"{r['loss']} (lr {r['lr']:g})", 18) for r in rows],
                  fontsize=8)
    ax.set_ylabel("test accuracy")
    ax.legend(fontsize=8)
    portion = report.get("data_portion", 1.0)
    extra = "" if portion == 1.0 else f", {portion:g} of the training data"
    ax.set_title(
        f"{report['task']}: {report['steps']:,} steps{extra}, {report['repeats']} runs each"
    )
    ax.grid(axis="y", alpha=0.3)
    return save(fig, path)


def plot_training_curves(report: dict[str, Any], path: str | Path) -> Path:
    """Mean test accuracy during training for each loss (the data of GLO Fig. 3)."""
    fig = figure(7, 4.2)
    ax = fig.add_subplot()
    for row in report["rows"]:
        if row["curve"]:
            steps, accs = zip(*row["curve"], strict=True)
            style = "--" if row["loss"].startswith("cross_entropy,") else "-"
            ax.plot(steps, accs, style, label=f"{row['loss']} (lr {row['lr']:g})")
    ax.set_xlabel("training step")
    ax.set_ylabel(f"test accuracy (mean of {report['repeats']} runs)")
    ax.set_title(f"{report['task']}: training curves")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save(fig, path)


def plot_study(
    study: optuna.Study,
    out_dir: str | Path,
    *,
    population_size: int | None = None,
    artifact_dir: str | Path | None = None,
) -> list[Path]:
    """Every picture the study has data for, as PNGs in ``out_dir``; returns their paths.

    An EPBT or PBT study gets its own pictures
    (:func:`~optuna_glo.reports.population_plots.plot_population_study`: EPBT Figs. 2 and 5).
    An evaluation's runs and curves are read from its study artifact in ``artifact_dir``
    (:func:`~optuna_glo.reports.artifacts.load_evaluations`); an evaluation whose runs cannot be
    read here is skipped with a warning.
    """
    from optuna_glo.suggest import best_trial, load_loss

    out = Path(out_dir)
    written: list[Path] = []
    best = best_trial(study)
    # Stored reports first: one that optuna-glo did not write stops the command before the rest.
    evaluations: list[Path] = []
    for key, report in load_evaluations(study, artifact_dir).items():
        suffix = key[len(EVALUATION_ATTR) :].replace(":", "_").replace("=", "")
        try:
            if not has_runs(report):
                _logger.warning("Evaluation %r: no runs here to plot (its artifacts are in "
                                "another --artifact-dir?).", key)
                continue
            evaluations.append(plot_evaluation(report, out / f"evaluation{suffix}.png"))
            if any(row["curve"] for row in report["rows"]):
                evaluations.append(
                    plot_training_curves(report, out / f"training_curves{suffix}.png")
                )
        except (AttributeError, KeyError, TypeError, ValueError, IndexError) as err:
            # Stored data from a shared database: a report optuna-glo did not write.
            raise ValueError(
                f"The study's evaluation {key!r} is not a report optuna-glo wrote "
                f"({type(err).__name__}: {str(err)[:80]}). Run `optuna-glo evaluate` again to "
                "replace it."
            ) from None
    if is_population_study(study):
        from optuna_glo.reports.population_plots import plot_population_study

        return [*plot_population_study(study, out), *evaluations]
    written.append(plot_binary_view(
        load_loss(best), out / "best_loss_binary_view.png", label=f"best loss (trial {best.number})"
    ))
    written.append(plot_search_progress(study, out / "search_progress.png",
                                        population_size=population_size))
    written.append(plot_generation_losses(study, out / "generation_best_losses.png",
                                          population_size=population_size))
    return [*written, *evaluations]


__all__ = [
    "generations",
    "plot_binary_view",
    "plot_evaluation",
    "plot_generation_losses",
    "plot_search_progress",
    "plot_study",
    "plot_training_curves",
    "trial_generation",
]
