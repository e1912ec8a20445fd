"""The pictures: created, non-empty PNGs for every kind of data a study holds."""

from __future__ import annotations

import itertools
from pathlib import Path

import optuna
import pytest
from _evaluation_studies import GOOD_THETA, is_png, study_with_generations

from optuna_glo.cli import main
from optuna_glo.losses import Baikal, CrossEntropy, TaylorGLOLoss
from optuna_glo.reports.evaluation import (
    BASELINE,
    TUNED_BASELINE,
    EvaluationReport,
    LRSearch,
    Row,
    markdown_table,
)
from optuna_glo.reports.plots import (
    generations,
    plot_binary_view,
    plot_study,
    trial_generation,
)
from optuna_glo.reports.shapes import binary_curve, loss_shape_png


def _report() -> EvaluationReport:
    curve = [(10, 0.5), (20, 0.8), (30, 0.9)]
    rows = [
        Row("best (trial 3)", "L = ...", 1.0, [0.95, 0.96, 0.94], 0, curve),
        Row(BASELINE, "L = -sum x log y", 1.0, [0.93, 0.92, 0.94], 0, curve[:2]),
        Row(TUNED_BASELINE, "L = -sum x log y", 0.3, [0.95, 0.95, 0.96], 0, curve),
    ]
    search = LRSearch([0.3, 1.0], [2000], 30, {0.3: 0.96, 1.0: 0.94})
    return EvaluationReport("digits-mlp", 30, 3, 1.0, [1000, 1001, 1002], rows, search)


def test_binary_curve_matches_the_losses_shapes() -> None:
    y0, ce = binary_curve(CrossEntropy())
    assert len(y0) == len(ce) == 199 and 0 < y0[0] < y0[-1] < 1
    assert all(a > b for a, b in itertools.pairwise(ce))  # decreasing (GLO Fig. 6)
    y0, baikal = binary_curve(Baikal())
    best = y0[min(range(len(baikal)), key=baikal.__getitem__)]
    assert best == pytest.approx(2 ** -0.5, abs=0.01)  # Baikal's minimum at 1/sqrt(2)


def test_loss_shape_png_is_small_and_valid(tmp_path: Path) -> None:
    path = loss_shape_png(TaylorGLOLoss(GOOD_THETA), tmp_path / "t.png", title="trial 3")
    assert is_png(path) and path.stat().st_size < 40_000


def test_plot_study_writes_every_picture(tmp_path: Path, sqlite_url: str) -> None:
    study = study_with_generations(sqlite_url)
    report = _report()
    data = report.to_dict()
    data["markdown"] = markdown_table(report)
    study.set_user_attr("optuna_glo:evaluation", data)
    study.set_user_attr("optuna_glo:evaluation:portion=0.1", {**data, "data_portion": 0.1})
    paths = plot_study(study, tmp_path / "pics", population_size=3)
    names = sorted(p.name for p in paths)
    assert names == sorted([
        "best_loss_binary_view.png", "search_progress.png", "generation_best_losses.png",
        "evaluation.png", "training_curves.png", "evaluation_portion0.1.png",
        "training_curves_portion0.1.png",
    ])
    assert all(is_png(p) for p in paths)


def test_generations_from_the_sampler_or_the_population_size(sqlite_url: str) -> None:
    study = study_with_generations(sqlite_url)
    by_gen = generations(study)
    assert list(by_gen) == [0, 1] and [len(v) for v in by_gen.values()] == [3, 3]
    plain = optuna.trial.create_trial(value=0.5)
    plain.number = 7
    assert trial_generation(plain, 3) == 2
    assert trial_generation(plain, None) is None


def test_plot_command(tmp_path: Path, sqlite_url: str, capsys) -> None:
    study_with_generations(sqlite_url)
    out = tmp_path / "pics"
    assert main(["plot", "--study", "tiny", "--storage", sqlite_url, "--out", str(out)]) == 0
    printed = capsys.readouterr().out.split()
    assert len(printed) == 3 and all(is_png(Path(p)) for p in printed)


def test_binary_view_figure(tmp_path: Path) -> None:
    assert is_png(plot_binary_view(Baikal(), tmp_path / "b.png", label="Baikal"))
