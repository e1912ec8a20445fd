"""Learning curves and pruning through a real worker, one trial at a time and in a model stack.

A TaylorGLO theta of zeros is a constant loss: no gradient, the model stays at chance accuracy.
Next to candidates that learn (f = 8 x y), the median pruner stops it at the first checkpoint.
"""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from optuna_glo.losses import TaylorGLOLoss
from optuna_glo.objectives.stack import PathTiming, _autotune
from optuna_glo.objectives.stack import _train as stack_train
from optuna_glo.runtime import methods
from optuna_glo.runtime.spec import load_spec
from optuna_glo.runtime.study import create_study
from optuna_glo.runtime.worker import run_worker

SPEC = """
[study]
name = "pruned"
method = "taylorglo"
task = "digits-mlp"
generations = 1
seed = 0

[taylorglo]
population_size = 4

[training]
steps = 20
eval_every = 10
{batch}
[pruner]
type = "median"
n_startup_trials = 2
"""

LEARNS = [0.0, 0.0, 0.0, 0.0, 0.0, 8.0, 0.0, 0.0]  # only the x*y term (eq. 5's (1, 1) term)
COLLAPSES = [0.0] * 8


@pytest.mark.slow
@pytest.mark.parametrize("batch", [None, 2], ids=["one_by_one", "stacked"])
def test_a_collapsing_candidate_is_pruned_and_every_trial_has_a_learning_curve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch: int | None
) -> None:
    monkeypatch.setenv("OPTUNA_GLO_DATA_DIR", str(tmp_path))  # the autotune file goes here
    monkeypatch.setattr(_autotune, "measure_paths", lambda *a, **kw: PathTiming(1.0, 2.0))
    stacks: list[int] = []
    real = stack_train.train_stack
    monkeypatch.setattr(stack_train, "train_stack", lambda task, losses, *a, **kw:
                        stacks.append(len(losses)) or real(task, losses, *a, **kw))
    path = tmp_path / "spec.toml"
    path.write_text(SPEC.format(batch=f"population_batch = {batch}" if batch else ""))
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    create_study(load_spec(path), storage)
    # Two that learn finish first (the median's startup trials), then the collapsing one beside
    # another that learns (in the stacked run, both in one stack: the first leaves it). The
    # sampler still suggests each trial's theta; the candidate trained is the one given here.
    thetas = (LEARNS, LEARNS, COLLAPSES, LEARNS)
    real_suggest = methods.suggest_taylor_loss
    monkeypatch.setattr(methods, "suggest_taylor_loss", lambda trial, *a, **kw:
                        real_suggest(trial, *a, **kw) and TaylorGLOLoss(thetas[trial.number]))
    summary = run_worker("pruned", storage, device="cpu", progress=False, handle_signals=False,
                         heartbeat_interval=None)
    assert summary.n_trials == 4
    assert stacks == ([2, 2] if batch else [])
    trials = optuna.load_study(study_name="pruned", storage=storage).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2 + [
        TrialState.PRUNED, TrialState.COMPLETE
    ]
    pruned = trials[2]
    assert list(pruned.intermediate_values) == [10]
    assert pruned.value == pruned.intermediate_values[10] == pruned.user_attrs["val_accuracy"]
    assert pruned.user_attrs["steps"] == 10
    for t in (trials[0], trials[1], trials[3]):
        assert list(t.intermediate_values) == [10, 20]
        assert t.intermediate_values[20] == t.value == t.user_attrs["val_accuracy"]
        assert t.intermediate_values[10] > pruned.intermediate_values[10]
        assert t.user_attrs["steps"] == 20
    # The one trained beside the pruned one trained on as if alone (same theta and seed as 0).
    assert trials[3].intermediate_values == pytest.approx(trials[0].intermediate_values, abs=0.01)
