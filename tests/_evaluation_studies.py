"""Small studies for the evaluation, plot and export tests: real storages, hand-made trials."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import FloatDistribution

from optuna_glo.losses import TaylorGLOLoss
from optuna_glo.objectives import TrainResult
from optuna_glo.reports.evaluation import (
    BASELINE,
    EVAL_SEED_BASE,
    TUNED_BASELINE,
    EvaluationReport,
    LRSearch,
    Row,
)
from optuna_glo.runtime.spec import StudySpec
from optuna_glo.runtime.study import create_study

#: A TaylorGLO theta that trains the digits MLP well (TaylorGLO appendix C's MNIST loss).
GOOD_THETA = (11.9039, -4.0240, 6.9796, 8.5834, -1.6677, 11.6064, 12.6684, -3.4674)


def tiny_spec(
    name: str = "tiny", *, steps: int = 20, generations: int = 2,
    search_lr: tuple[float, float] | None = None,
) -> StudySpec:
    """TaylorGLO on digits-mlp, population 4, short candidates; ``search_lr``: the rate's range
    CMA-ES searches with the loss."""
    taylorglo: dict[str, Any] = {"population_size": 4}
    if search_lr is not None:
        taylorglo["search_lr"] = {"low": search_lr[0], "high": search_lr[1]}
    return StudySpec.from_dict({
        "study": {"name": name, "method": "taylorglo", "task": "digits-mlp",
                  "generations": generations, "seed": 0},
        "taylorglo": taylorglo,
        "training": {"steps": steps},
    })


def add_taylor_trial(
    study: optuna.Study, theta: tuple[float, ...], value: float, generation: int | None = None,
    lr: float | None = None,
) -> optuna.trial.FrozenTrial:
    """Record a finished TaylorGLO trial as a worker would (params, formula, form, generation,
    and the learning rate ``lr`` when the search chose one)."""
    dist = FloatDistribution(-20.0, 20.0)
    trial = optuna.trial.create_trial(
        params={f"taylor_theta_{i}": v for i, v in enumerate(theta)},
        distributions={f"taylor_theta_{i}": dist for i in range(len(theta))},
        value=value,
        user_attrs={"loss_formula": TaylorGLOLoss(theta).formula(), "taylor_form": "code",
                    **({} if lr is None else {"lr": lr})},
        system_attrs={} if generation is None else {"cma:generation": generation},
    )
    study.add_trial(trial)
    return study.get_trials(deepcopy=False)[-1]


def study_with_generations(url: str, name: str = "tiny") -> optuna.Study:
    """Two generations of three trials; the best is ``GOOD_THETA`` in generation 1."""
    study = create_study(tiny_spec(name), url)
    thetas = [
        (0.5, 0.2, 1.0, 0.3, -0.2, 0.1, 0.0, 0.4),
        (-1.0, 0.5, 2.0, -0.5, 0.3, 0.8, -0.3, 0.2),
        (0.0, 0.0, 1.5, 0.0, 0.0, 0.0, 0.0, 0.0),
    ]
    for k, theta in enumerate(thetas):
        add_taylor_trial(study, theta, 0.5 + 0.05 * k, generation=0)
    add_taylor_trial(study, GOOD_THETA, 0.95, generation=1)
    add_taylor_trial(study, thetas[0], 0.7, generation=1)
    add_taylor_trial(study, thetas[2], 0.8, generation=1)
    return study


def is_png(path: Path) -> bool:
    data = path.read_bytes()
    return len(data) > 1000 and data[:8] == b"\x89PNG\r\n\x1a\n"


def module_imports(path: Path) -> set[str]:
    """The top-level packages a Python file imports."""
    import ast

    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add((node.module or "").split(".")[0])
    return names


def evaluation_report(curve_points: int = 3) -> EvaluationReport:
    """A hand-made evaluation of three losses; each training curve has ``curve_points`` points."""
    curve = [(10 * (k + 1), min(0.95, 0.5 + 0.01 * k)) for k in range(curve_points)]
    rows = [
        Row("best (trial 3)", "L = ...", 1.0, [0.95, 0.96, 0.94], 0, curve),
        Row(BASELINE, "L = -sum x log y", 1.0, [0.93, 0.92, 0.94], 0, curve[:2]),
        Row(TUNED_BASELINE, "L = -sum x log y", 0.3, [0.95, 0.95, 0.96], 0, curve),
    ]
    search = LRSearch([0.3, 1.0], [2000], 30, {0.3: 0.96, 1.0: 0.94})
    return EvaluationReport("digits-mlp", 30, 3, 1.0, [1000, 1001, 1002], rows, search)


class FakeTrain:
    """Stands in for ``train``: validation accuracy peaks at the rate ``peak`` (log distance),
    test accuracy depends on the loss and the seed; records every call (also in ``log``) and
    its length (``steps``)."""

    def __init__(
        self, peak: float = 1.0, stop_after: int | None = None,
        log: list[tuple[str, int]] | None = None,
    ) -> None:
        self.peak = peak
        self.stop_after = stop_after
        self.calls: list[tuple[str, float, int]] = []
        self.steps: list[int] = []
        self.log = [] if log is None else log

    def __call__(self, task: Any, loss: Any, *, steps: int, seed: int, on_step: Any,
                 **_: Any) -> TrainResult:
        if self.stop_after is not None and len(self.calls) == self.stop_after:
            raise KeyboardInterrupt
        lr = task.recipe.lr
        self.calls.append((type(loss).__name__, lr, seed))
        self.steps.append(steps)
        self.log.append(("train", seed))
        on_step(steps)
        val = 0.9 - 0.01 * abs(math.log(lr / self.peak))
        test = 0.8 + 0.01 * (seed - EVAL_SEED_BASE) + 0.001 * (len(type(loss).__name__) % 7)
        return TrainResult(val, steps, test_accuracy=test, curve=[(steps, test)])
