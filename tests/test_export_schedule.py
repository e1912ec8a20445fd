"""Export of an EPBT loss schedule: a torch-only module whose loss follows the epoch, equal to the
project's TaylorGLO loss of the segment that trains that epoch."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch
from _evaluation_studies import module_imports
from _population_studies import SEGMENT, epbt_study, pbt_sgd_study, theta_of

from optuna_glo.cli import main
from optuna_glo.losses import TaylorGLOLoss
from optuna_glo.reports.export import export_study
from optuna_glo.reports.export_schedule import loss_schedule


def _import_from(directory: Path, name: str) -> ModuleType:
    """Import ``name`` from ``directory`` with a plain ``import``, as a user would."""
    sys.path.insert(0, str(directory))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(directory))
        sys.modules.pop(name, None)


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return (3 * torch.randn(32, 10, generator=gen)).requires_grad_(), torch.randint(
        0, 10, (32,), generator=gen
    )


def _same(ours: torch.Tensor, theirs: torch.Tensor, logits: torch.Tensor) -> bool:
    (g_ours,) = torch.autograd.grad(ours, logits)
    (g_theirs,) = torch.autograd.grad(theirs, logits)
    return torch.equal(ours, theirs) and torch.equal(g_ours, g_theirs)


@pytest.mark.parametrize("form", ["code", "eq5"])
def test_the_exported_schedule_is_the_projects_loss_of_each_generation(
    sqlite_url: str, tmp_path: Path, form: str
) -> None:
    study = epbt_study(sqlite_url, form=form)
    path = export_study(study, tmp_path / "found_schedule.py")  # the best: lineage 1 -> 4 -> 6
    assert module_imports(path) == {"__future__", "torch"}
    module = _import_from(tmp_path, "found_schedule")
    assert (form, SEGMENT) == (module.FORM, module.SEGMENT_EPOCHS)
    assert (module.GENERATIONS, module.TRIALS) == ([0, 1, 2], [1, 4, 6])
    criterion = module.FoundLoss()
    logits, target = _batch()
    for trial, epochs in ((1, (0, 1.5)), (4, (2, 3.99)), (6, (4, 5, 9))):  # 9: past the end
        project = TaylorGLOLoss(theta_of(trial), form=form)
        for epoch in epochs:
            assert _same(criterion(logits, target, epoch), project(logits, target), logits)
    # Neighbouring generations' losses differ, so the epoch really chooses.
    assert not torch.equal(criterion(logits, target, 1), criterion(logits, target, 2))
    criterion.reduction = "none"
    expected = TaylorGLOLoss(theta_of(4), form=form, reduction="none")(logits, target)
    assert torch.equal(criterion(logits, target, 3), expected)
    with pytest.raises(ValueError, match="`epoch` must be a number >= 0"):
        criterion(logits, target, float("nan"))


def test_a_generation_spent_as_an_elite_keeps_the_previous_loss(
    sqlite_url: str, tmp_path: Path
) -> None:
    study = epbt_study(sqlite_url)
    path = export_study(study, tmp_path / "elite.py", trial_number=7)  # lineage 1 -> 7
    module = _import_from(path.parent, "elite")
    assert (module.GENERATIONS, module.TRIALS) == ([0, 2], [1, 7])
    criterion, (logits, target) = module.FoundLoss(), _batch()
    for epoch, trial in ((0, 1), (3, 1), (4, 7)):  # generation 1 (epochs 2-4): trial 1's loss
        assert _same(criterion(logits, target, epoch), TaylorGLOLoss(theta_of(trial))(
            logits, target), logits)


def test_pbt_over_sgd_has_no_loss_schedule_to_export(sqlite_url: str, tmp_path: Path) -> None:
    study = pbt_sgd_study(sqlite_url)
    with pytest.raises(ValueError, match="PBT over SGD trains cross-entropy") as info:
        loss_schedule(study, study.best_trial)
    assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match=r"`out` must be a \.py file"):
        export_study(epbt_study(sqlite_url), tmp_path / "bad-name.py")


def test_the_export_command_on_an_epbt_study(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    epbt_study(sqlite_url, name="e")
    out = tmp_path / "epbt_loss.py"
    assert main(["export", "--study", "e", "--storage", sqlite_url, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "criterion(outputs, labels, epoch)" in printed
    assert _import_from(tmp_path, "epbt_loss").TRIALS == [1, 4, 6]
