"""EPBT and PBT studies end to end: specs, segments from inherited checkpoints, garbage collection,
batch mode, and the command line."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import optuna
import pytest
import torch
from _specs import EPBT
from optuna.trial import TrialState

from optuna_glo.cli import main
from optuna_glo.objectives import ModelStack
from optuna_glo.objectives.stack import weights_digest
from optuna_glo.runtime.artifacts import artifact_store
from optuna_glo.runtime.checkpoints import (
    CheckpointError,
    checkpoint_ids,
    load_checkpoint,
    stored_checkpoints,
)
from optuna_glo.runtime.methods import make_objective
from optuna_glo.runtime.population import PopulationObjective
from optuna_glo.runtime.spec import SpecError, StudySpec
from optuna_glo.runtime.study import load_study
from optuna_glo.runtime.worker import run_worker
from optuna_glo.samplers.pbt import generation_of, parent_of

PBT_SGD = """
[study]
name = "sgd"
method = "pbt"
task = "digits-mlp"
generations = 2
seed = 0

[pbt]
population_size = 4
space = "sgd"
segment_steps = 5
"""


def spec_of(text: str, **tables: dict[str, Any]) -> StudySpec:
    import tomllib

    data = tomllib.loads(text.format(name="s"))
    for table, values in tables.items():
        data[table] = {**data.get(table, {}), **values}
    return StudySpec.from_dict(data)


# ---------------------------------------------------------------------------------- the spec


def test_budget_counts_epbt_children_and_pbt_members() -> None:
    assert spec_of(EPBT).n_trials == 4 + 2 * 2
    assert spec_of(EPBT).batch_period == 2
    assert spec_of(PBT_SGD).n_trials == 2 * 4
    paper = spec_of(EPBT, epbt={"population_size": 40, "n_elites": 20}, study={"generations": 25})
    assert paper.n_trials == 40 + 24 * 20  # EPBT 4.4: 520 loss functions


@pytest.mark.parametrize(
    ("text", "tables", "message"),
    [
        (EPBT, {"epbt": {"segment_epochs": 2}}, "exactly one of `segment_epochs`"),
        (EPBT, {"epbt": {"segment_steps": 0}}, "segment length must be >= 1, got 0"),
        (EPBT, {"epbt": {"n_elites": 4}}, r"n_elites must be in \[0, population_size = 4\)"),
        (EPBT, {"epbt": {"population_size": 1, "n_elites": 0}}, "population_size must be >= 2"),
        (EPBT, {"epbt": {"reinit_prob": 1.5}}, "reinit_prob must be a probability"),
        (EPBT, {"epbt": {"mutation_sigma": -1.0}}, "mutation_sigma must be a number >= 0"),
        (EPBT, {"epbt": {"bound": 0.0}}, "bound must be a finite number > 0"),
        (EPBT, {"epbt": {"tournament_size": 0}}, "tournament_size must be >= 1"),
        (PBT_SGD, {"pbt": {"space": "adam"}}, "space must be 'taylorglo' or 'sgd', got 'adam'"),
        (PBT_SGD, {"pbt": {"truncation_fraction": 0.7}}, r"truncation_fraction must be in \(0"),
        (PBT_SGD, {"pbt": {"perturbation_factors": [1.2, 0.0]}}, "perturbation_factors must be"),
        (PBT_SGD, {"pbt": {"resample_prob": -0.1}}, "resample_prob must be a probability"),
        (PBT_SGD, {"study": {"n_trials": 8}}, "counts its budget in generations"),
    ],
)
def test_bad_population_settings_are_one_line_errors(
    text: str, tables: dict[str, dict[str, Any]], message: str
) -> None:
    with pytest.raises(SpecError, match=message) as info:
        spec_of(text, **tables)
    assert "\n" not in str(info.value)


# ------------------------------------------------------------------- one EPBT run, read back


@pytest.fixture(scope="module")
def epbt_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, str]:
    """``optuna-glo run`` of a tiny EPBT spec; returns its storage, artifact dir and output."""
    tmp = tmp_path_factory.mktemp("epbt")
    spec = tmp / "epbt.toml"
    spec.write_text(EPBT.format(name="tiny-epbt"))
    storage = f"sqlite:///{tmp / 'e.db'}"
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["run", str(spec), "--storage", storage, "--no-progress", "--device",
                     "cpu"]) == 0
    return storage, tmp / "e-artifacts", out.getvalue()


@pytest.mark.slow
def test_run_prints_the_best_schedule_next_to_cross_entropy(
    epbt_run: tuple[str, Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    storage, _, out = epbt_run
    assert "Best individual: trial" in out and "Its schedule" in out
    assert "theta0" in out and "L(x, y) = -(1/n) Σᵢ [" in out and "one-hot target" in out
    # Cross-entropy alone for the population's total steps: 3 generations x 6 steps.
    assert "Cross-entropy trained alone for the same 18 steps" in out
    assert main(["best", "--study", "tiny-epbt", "--storage", storage]) == 0
    best = capsys.readouterr().out
    study = optuna.load_study(study_name="tiny-epbt", storage=storage)
    lineage = [study.best_trial.number]
    while (parent := parent_of(study, study.trials[lineage[-1]])) is not None:
        lineage.append(parent)
    rows = [line.split() for line in best.splitlines() if line.startswith("  ") and
            line.split()[0].isdigit()]
    assert [int(r[1]) for r in rows] == lineage[::-1], best


@pytest.mark.slow
def test_children_start_from_their_parents_final_weights_bit_for_bit(
    epbt_run: tuple[str, Path, str],
) -> None:
    storage, artifacts, _ = epbt_run
    study, _ = load_study("tiny-epbt", storage)
    trials = study.get_trials(deepcopy=False)
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 8
    assert [generation_of(t) for t in trials] == [0, 0, 0, 0, 1, 1, 2, 2]
    children = [t for t in trials if generation_of(t) != 0]
    assert all(parent_of(study, t) is not None for t in children)
    for child in children:
        parent = study.trials[parent_of(study, child)]  # type: ignore[index]
        assert child.user_attrs["start_weights_sha256"] == parent.user_attrs["weights_sha256"]
        assert child.user_attrs["start_epoch"] == pytest.approx(
            generation_of(child) * 6 / (1197 // 64)  # type: ignore[operator]
        )
    # What a checkpoint file holds is what its trial ended with.
    store = artifact_store(artifacts)
    for number in stored_checkpoints(study, store):
        checkpoint = load_checkpoint(study, trials[number], store)
        assert weights_digest(checkpoint.model) == trials[number].user_attrs["weights_sha256"]
        assert checkpoint.params == trials[number].params and checkpoint.trial == number


@pytest.mark.slow
def test_plot_and_export_read_a_real_run(epbt_run: tuple[str, Path, str], tmp_path: Path) -> None:
    import importlib.util

    from optuna_glo.losses import TaylorGLOLoss
    from optuna_glo.reports.lineage import lineage_points, population_best

    storage, _, _ = epbt_run
    study, _ = load_study("tiny-epbt", storage, with_sampler=False)
    segment = 6 / (1197 // 64)  # 6 steps of a 1197-image, batch-64 epoch
    best = population_best(study)
    assert [p.epoch for p in best] == pytest.approx([segment, 2 * segment, 3 * segment])
    assert all(p.test_accuracy is not None for p in best)
    assert best[-1].val_accuracy == study.best_value
    assert main(["plot", "--study", "tiny-epbt", "--storage", storage, "--out",
                 str(tmp_path)]) == 0
    assert {p.name for p in tmp_path.iterdir()} == {"population_accuracy.png",
                                                    "lineage_losses.png"}
    out = tmp_path / "schedule.py"
    assert main(["export", "--study", "tiny-epbt", "--storage", storage, "--out", str(out)]) == 0
    spec = importlib.util.spec_from_file_location("schedule", out)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    lineage = lineage_points(study)
    assert [p.trial for p in lineage] == module.TRIALS
    logits, target = torch.randn(16, 10), torch.randint(0, 10, (16,))
    for point in lineage:
        trial = study.trials[point.trial]
        theta = [trial.params[f"taylor_theta_{i}"] for i in range(8)]
        project = TaylorGLOLoss(theta, form=trial.user_attrs["taylor_form"])
        epoch = (point.generation + 0.5) * segment
        assert torch.equal(module.FoundLoss()(logits, target, epoch), project(logits, target))


@pytest.mark.slow
def test_only_checkpoints_that_can_still_be_parents_are_kept(
    epbt_run: tuple[str, Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    storage, artifacts, _ = epbt_run
    study, _ = load_study("tiny-epbt", storage)
    store = artifact_store(artifacts)
    kept = stored_checkpoints(study, store)
    assert kept == study.sampler.individuals_alive(study)  # type: ignore[attr-defined]
    assert kept == [t.number for t in study.sampler.population(study, 2)]  # type: ignore[attr-defined]
    assert len(kept) == 4, "the disk holds one population, not every trial"
    assert main(["gc-checkpoints", "--study", "tiny-epbt", "--storage", storage]) == 0
    assert "Deleted the checkpoints of 0 trial(s)" in capsys.readouterr().out


@pytest.mark.slow
def test_weights_and_params_are_restored_together_or_not_at_all(
    epbt_run: tuple[str, Path, str], tmp_path: Path
) -> None:
    storage, artifacts, _ = epbt_run
    study, _ = load_study("tiny-epbt", storage)
    store = artifact_store(artifacts)
    number = stored_checkpoints(study, store)[0]
    trial = study.trials[number]
    other = copy.deepcopy(trial)
    other.params = dict(trial.params, taylor_theta_0=trial.params["taylor_theta_0"] + 1.0)
    with pytest.raises(CheckpointError, match="do not belong together"):
        load_checkpoint(study, other, store)
    # A file that needs more than weights_only loading (pickled code) is refused.
    [artifact_id] = checkpoint_ids(study, trial)
    path = artifacts / artifact_id
    saved = path.read_bytes()
    try:
        torch.save({"model": torch.nn.Linear(1, 1)}, path)
        with pytest.raises(CheckpointError, match="cannot be read"):
            load_checkpoint(study, trial, store)
    finally:
        path.write_bytes(saved)


# ------------------------------------------------------------------------------- batch mode


@pytest.mark.slow
def test_batch_mode_trains_a_generations_children_as_one_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = tmp_path / "batch.toml"
    spec.write_text(EPBT.format(name="batch") + "\n[training]\npopulation_batch = 4\n")
    storage = f"sqlite:///{tmp_path / 'b.db'}"
    assert main(["create-study", str(spec), "--storage", storage]) == 0
    sizes: list[int] = []
    original = ModelStack.from_state_dicts.__func__  # type: ignore[attr-defined]

    def spy(cls: type, task: Any, losses: Any, states: Any, *a: Any, **k: Any) -> ModelStack:
        sizes.append(len(states))
        return original(cls, task, losses, states, *a, **k)

    monkeypatch.setattr(ModelStack, "from_state_dicts", classmethod(spy))
    _, loaded = load_study("batch", storage, with_sampler=False)
    objective = make_objective(loaded, device="cpu", artifact_dir=tmp_path / "art")
    assert isinstance(objective, PopulationObjective)
    objective.path = "vectorized"
    summary = run_worker("batch", storage, device="cpu", progress=False, handle_signals=False,
                         objective=objective, heartbeat_interval=None)
    assert summary.n_trials == 8
    # Generation 0 (4 slots) in batches of 2 (the gcd of p = 4 and p - k = 2), then 2 + 2.
    assert sizes == [2, 2, 2, 2]
    study = optuna.load_study(study_name="batch", storage=storage)
    for child in study.trials[4:]:
        parent = study.trials[parent_of(study, child)]  # type: ignore[index]
        assert child.user_attrs["start_weights_sha256"] == parent.user_attrs["weights_sha256"]


# ---------------------------------------------------------------------------------- PBT SGD


@pytest.mark.slow
def test_pbt_over_sgd_trains_each_member_with_its_learning_rate_and_momentum(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "sgd.toml"
    spec.write_text(PBT_SGD)
    storage = f"sqlite:///{tmp_path / 's.db'}"
    assert main(["run", str(spec), "--storage", storage, "--no-progress", "--device",
                 "cpu"]) == 0
    out = capsys.readouterr().out
    assert "lr" in out and "momentum" in out and "Cross-entropy trained alone" in out
    study, _ = load_study("sgd", storage)
    store = artifact_store(tmp_path / "s-artifacts")
    for number in stored_checkpoints(study, store):
        checkpoint = load_checkpoint(study, study.trials[number], store)
        assert set(checkpoint.params) == {"sgd_lr", "sgd_momentum"}
        assert checkpoint.optimizer is not None and checkpoint.optimizer["state"], "momentum"


def test_population_methods_take_the_taylorglo_form(tmp_path: Path) -> None:
    from optuna_glo.runtime.spec import SpecError, load_spec

    text = (Path(__file__).parents[1] / "studies" / "epbt-quickstart.toml").read_text()
    good = tmp_path / "eq5.toml"
    good.write_text(text.replace("[epbt]\n", "[epbt]\nform = \"eq5\"\n"))
    assert load_spec(good).method_settings.form == "eq5"  # type: ignore[union-attr]
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("[epbt]\n", "[epbt]\nform = \"printed\"\n"))
    with pytest.raises(SpecError, match="form must be 'code'"):
        load_spec(bad)
