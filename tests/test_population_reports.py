"""EPBT and PBT reports: the numbers drawn (EPBT Figs. 2 and 5), the pictures, the command."""

from __future__ import annotations

from pathlib import Path

import pytest
from _evaluation_studies import is_png
from _population_studies import SEGMENT, add_trial, epbt_study, pbt_sgd_study, spec, theta_of

from optuna_glo.cli import main
from optuna_glo.keys import BASELINE_ATTR, EPBT_GENERATION_KEY, SGD_LR_PARAM, SGD_MOMENTUM_PARAM
from optuna_glo.losses import TaylorGLOLoss
from optuna_glo.reports.lineage import (
    Point,
    is_population_study,
    keeps_elites,
    lineage_hyperparameters,
    lineage_points,
    lineage_shapes,
    population_best,
    segment_epochs,
)
from optuna_glo.reports.plots import plot_study
from optuna_glo.reports.population_plots import baseline_test_accuracy, plot_lineage_losses
from optuna_glo.reports.shapes import binary_curve
from optuna_glo.runtime.study import create_study


def test_the_population_best_keeps_an_elite_until_a_child_beats_it(sqlite_url: str) -> None:
    study = epbt_study(sqlite_url)
    assert is_population_study(study) and keeps_elites(study)
    assert segment_epochs(study) == SEGMENT
    # Generation 1's children (0.65, 0.62) lose to trial 1 (0.7), carried over as an elite.
    assert population_best(study) == [
        Point(0, 2.0, 1, 0.7, 0.66), Point(1, 4.0, 1, 0.7, 0.66), Point(2, 6.0, 6, 0.8, 0.77),
    ]


def test_without_elites_each_generation_is_its_own_population(sqlite_url: str) -> None:
    study = epbt_study(sqlite_url, n_elites=0)
    assert not keeps_elites(study)
    assert [(p.generation, p.trial) for p in population_best(study)] == [(0, 1), (1, 4), (2, 6)]
    sgd = pbt_sgd_study(sqlite_url)
    assert not keeps_elites(sgd)
    assert [(p.trial, p.val_accuracy) for p in population_best(sgd)] == [(2, 0.7), (5, 0.8)]


def test_the_lineage_curve_follows_the_best_individuals_ancestors(sqlite_url: str) -> None:
    study = epbt_study(sqlite_url)
    assert lineage_points(study) == [
        Point(0, 2.0, 1, 0.7, 0.66), Point(1, 4.0, 4, 0.65, 0.6), Point(2, 6.0, 6, 0.8, 0.77),
    ]
    # Trial 7's weights were not trained in generation 1: its lineage has no point there.
    assert [(p.generation, p.trial) for p in lineage_points(study, study.trials[7])] == [
        (0, 1), (2, 7)
    ]


@pytest.mark.parametrize("form", ["code", "eq5"])
def test_the_loss_shapes_are_the_lineages_losses_in_the_binary_view(
    sqlite_url: str, form: str
) -> None:
    study = epbt_study(sqlite_url, form=form)
    shapes = lineage_shapes(study)
    assert [(s.generation, s.trial) for s in shapes] == [(0, 1), (1, 4), (2, 6)]
    for shape in shapes:
        expected = binary_curve(TaylorGLOLoss(theta_of(shape.trial), form=form))
        assert (shape.y0, shape.values) == expected
        assert shape.shifted[-1] == 0.0
        assert shape.shifted[0] == expected[1][0] - expected[1][-1]
    assert len({tuple(s.values) for s in shapes}) == 3  # three different losses


def test_pbt_over_sgd_has_a_learning_rate_and_momentum_schedule_not_loss_shapes(
    sqlite_url: str, tmp_path: Path
) -> None:
    study = pbt_sgd_study(sqlite_url)
    assert lineage_shapes(study) == []
    assert lineage_hyperparameters(study) == {
        SGD_LR_PARAM: [(0.0, 0.2), (2.0, 0.16)], SGD_MOMENTUM_PARAM: [(0.0, 0.5), (2.0, 0.4)],
    }
    paths = plot_study(study, tmp_path)
    assert [p.name for p in paths] == ["population_accuracy.png", "lineage_hyperparameters.png"]
    assert all(is_png(p) for p in paths)
    with pytest.raises(ValueError, match="no loss shapes"):
        plot_lineage_losses(study, tmp_path / "x.png")


def test_an_epbt_study_gets_figures_2_and_5(sqlite_url: str, tmp_path: Path) -> None:
    study = epbt_study(sqlite_url)
    paths = plot_study(study, tmp_path / "pictures")
    assert [p.name for p in paths] == ["population_accuracy.png", "lineage_losses.png"]
    assert all(is_png(p) for p in paths)


def test_the_baseline_line_is_drawn_only_from_a_readable_record(sqlite_url: str) -> None:
    study = epbt_study(sqlite_url)
    assert baseline_test_accuracy(study) is None
    for stored, expected in (({"test_accuracy": 0.61}, 0.61), ({"test_accuracy": "x"}, None),
                             ({"test_accuracy": 7.0}, None), ([1], None)):
        study.set_user_attr(BASELINE_ATTR, stored)
        assert baseline_test_accuracy(study) == expected


def test_stored_epochs_that_optuna_glo_did_not_write_are_a_one_line_error(
    sqlite_url: str,
) -> None:
    study = create_study(spec("epbt", "bad", n_elites=2), sqlite_url)
    add_trial(study, EPBT_GENERATION_KEY, 0, None, 0.5, 0.5, {}, None, 1e300)
    with pytest.raises(ValueError, match="'epochs_trained' must be a number of epochs") as info:
        segment_epochs(study)
    assert "\n" not in str(info.value)


def test_the_plot_command_on_an_epbt_study(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    epbt_study(sqlite_url, name="e")
    out = tmp_path / "pngs"
    assert main(["plot", "--study", "e", "--storage", sqlite_url, "--out", str(out)]) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(out / "population_accuracy.png"), str(out / "lineage_losses.png")]
