"""The pictures: created, non-empty PNGs for every kind of data a study holds."""

from __future__ import annotations

import itertools
from pathlib import Path

import optuna
import pytest
from _evaluation_studies import GOOD_THETA, evaluation_report, is_png, study_with_generations

import optuna_glo
from optuna_glo.cli import main
from optuna_glo.keys import COEFFICIENT_TREE_KEY
from optuna_glo.losses import Baikal, CrossEntropy, TaylorGLOLoss
from optuna_glo.reports.evaluation import markdown_table
from optuna_glo.reports.plots import (
    generations,
    plot_binary_view,
    plot_study,
    trial_generation,
)
from optuna_glo.reports.shapes import binary_curve, loss_shape_png


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
    report = evaluation_report()
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


def test_glo_coefficient_generations_follow_the_discovery_generations() -> None:
    # GLO's coefficient-phase trials also carry the GP's generation key, which keeps counting at
    # the GP's population size (6 here, against CMA-ES's 4): CMA-ES's own generation is used.
    gp = optuna_glo.GeneticProgrammingSampler(population_size=6, n_elites=1, seed=0)
    sampler = optuna_glo.GLOSampler(discovery_generations=2, gp_sampler=gp,
                                    coefficient_population_size=4, seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)

    def objective(trial: optuna.Trial) -> float:
        loss = optuna_glo.suggest_glo_loss(trial, untrainable="score")
        cached = getattr(loss, "cached_value", None)
        return cached if cached is not None else 1.0 / len(str(loss.tree))

    study.optimize(objective, n_trials=12 + 12)
    by_gen = generations(study)
    assert {g: len(ts) for g, ts in by_gen.items()} == {0: 6, 1: 6, 2: 4, 3: 4, 4: 4}
    assert all(COEFFICIENT_TREE_KEY in t.system_attrs for g in (2, 3, 4) for t in by_gen[g])
    assert [trial_generation(t, None) for t in by_gen[4]] == [2, 2, 2, 2]  # within its phase
