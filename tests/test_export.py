"""Export: the standalone module computes exactly the project's loss, and trains the same model."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import optuna
import pytest
import torch
from _evaluation_studies import (
    GOOD_THETA,
    add_taylor_trial,
    module_imports,
    study_with_generations,
    tiny_spec,
)

import optuna_glo
from optuna_glo.cli import main
from optuna_glo.losses import BaikalCMA, TaylorGLOLoss, readable_formula
from optuna_glo.losses.trees import TreeLoss, parse
from optuna_glo.objectives import get_task, train
from optuna_glo.reports.export import export_loss, export_study, loss_module_source
from optuna_glo.runtime.study import create_study

TREES = [
    "log(y) - x / y",
    "{2.7279}({0.9863}log({1.5352}y) - {-1.1135}({1.3716}x / {-0.8411}y))",
    "sqrt(x * y) + (y - 1)^2 * -1",
]


def _import(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _same_values_and_gradients(ours: torch.nn.Module, theirs: torch.nn.Module) -> None:
    gen = torch.Generator().manual_seed(0)
    logits = (4 * torch.randn(64, 10, generator=gen)).requires_grad_()
    target = torch.randint(0, 10, (64,), generator=gen)
    one_hot = torch.nn.functional.one_hot(target, 10).float()
    for t in (target, one_hot):
        a, b = ours(logits, t), theirs(logits, t)
        assert torch.equal(a, b)
        (ga,) = torch.autograd.grad(a, logits)
        (gb,) = torch.autograd.grad(b, logits)
        assert torch.equal(ga, gb)
    for reduction in ("sum", "none"):
        ours.reduction = reduction
        assert torch.equal(ours(logits, target), type(theirs)(reduction=reduction)(logits, target))
    ours.reduction = "mean"


@pytest.mark.parametrize("form", ["code", "eq5"])
@pytest.mark.parametrize("theta", [GOOD_THETA, (0.1, -0.2, 1.0, 0.5, -0.3)])
def test_exported_taylor_loss_is_the_projects(
    tmp_path: Path, theta: tuple[float, ...], form: str
) -> None:
    loss = TaylorGLOLoss(theta, form=form)
    path = export_loss(loss, tmp_path / "my_loss.py", source="a test")
    assert module_imports(path) == {"__future__", "torch"}
    module = _import(path)
    assert loss.formula() == module.FORMULA
    assert f"    {readable_formula(loss)}\n" in module.__doc__  # the docstring reads like math
    _same_values_and_gradients(loss, module.FoundLoss())


@pytest.mark.parametrize("text", TREES)
def test_exported_tree_loss_is_the_projects(tmp_path: Path, text: str) -> None:
    loss = TreeLoss(parse(text))
    path = export_loss(loss, tmp_path / "tree_loss.py")
    assert module_imports(path) == {"__future__", "torch"}
    _same_values_and_gradients(loss, _import(path).FoundLoss())


@pytest.mark.slow
@pytest.mark.parametrize(
    "loss", [TreeLoss(parse(TREES[0])), TaylorGLOLoss(GOOD_THETA)], ids=["baikal-tree", "taylor"]
)
def test_training_with_the_exported_module_gives_the_same_model(
    tmp_path: Path, loss: torch.nn.Module
) -> None:
    task = get_task("digits-mlp")
    exported = _import(export_loss(loss, tmp_path / "found.py")).FoundLoss()
    a = train(task, loss, steps=40, seed=3, eval_every=20, evaluate_test=True)
    b = train(task, exported, steps=40, seed=3, eval_every=20, evaluate_test=True)
    assert (a.val_accuracy, a.test_accuracy, a.curve) == (b.val_accuracy, b.test_accuracy, b.curve)
    if isinstance(loss, TreeLoss):
        assert a.val_accuracy > 0.5  # a model that learned, not a constant one


def test_export_refuses_what_it_cannot_write(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="`loss` must be a TaylorGLO or expression-tree loss"):
        export_loss(BaikalCMA(), tmp_path / "x.py")
    with pytest.raises(ValueError, match=r"`out` must be a \.py file"):
        export_loss(TaylorGLOLoss(GOOD_THETA), tmp_path / "my-loss.py")


def test_load_loss_of_a_study_and_its_trials(sqlite_url: str) -> None:
    study = study_with_generations(sqlite_url)
    best = optuna_glo.load_loss(study)
    assert isinstance(best, TaylorGLOLoss)
    assert best.theta.tolist() == pytest.approx(GOOD_THETA)
    trial = study.trials[0]
    assert optuna_glo.load_loss(trial).formula() == trial.user_attrs["loss_formula"]
    # A GLO trial carries its tree as text (GP sampler's user attr "loss_tree").
    tree_trial = optuna.trial.create_trial(value=0.5, user_attrs={"loss_tree": TREES[1]})
    study.add_trial(tree_trial)
    tree_loss = optuna_glo.load_loss(study.trials[-1])
    assert isinstance(tree_loss, TreeLoss) and tree_loss.text == TREES[1]
    # A live trial is read from the storage.
    live = study.ask()
    with pytest.raises(ValueError, match="carries no loss that optuna-glo can read"):
        optuna_glo.load_loss(live)
    study.tell(live, state=optuna.trial.TrialState.FAIL)
    empty = optuna.create_study(storage=sqlite_url, study_name="empty")
    with pytest.raises(ValueError, match="has no completed trial yet"):
        optuna_glo.load_loss(empty)


def test_export_command(tmp_path: Path, sqlite_url: str, capsys) -> None:
    study = study_with_generations(sqlite_url)
    other = add_taylor_trial(study, (0.0, 0.0, 1.5, 0.0, 0.0, 0.0, 0.0, 0.0), 0.1)
    out = tmp_path / "my_loss.py"
    assert main(["export", "--study", "tiny", "--storage", sqlite_url, "--out", str(out)]) == 0
    assert "from my_loss import FoundLoss" in capsys.readouterr().out
    text = out.read_text()
    assert "study 'tiny', trial 3, validation accuracy 0.9500" in text
    assert export_study(study, tmp_path / "other.py", trial_number=other.number).exists()
    with pytest.raises(ValueError, match="`trial_number` 99 is not a trial"):
        export_study(study, tmp_path / "x.py", trial_number=99)
    sys.modules.pop("my_loss", None)


#: Study names, formulas and attrs a shared database may hold, each trying to end the docstring,
#: add a line of code or reach the terminal of whoever reads the module.
HOSTILE = [
    '"""',
    'a"""\nimport os\nos.system("touch PWNED")\n"""',
    "\n",
    "\x1b[2J\x1b]0;owned\x07",
    "'); import os; ('",
    "\u2028import os\u2029",
    "trailing backslash\\",
    "\\N{",
    "\u202eevil\u202c",
    '" + __import__("os").system("touch PWNED") + "',
]


def _without_docstring(source: str) -> str:
    """The module's AST with its docstring's text blanked: what must not depend on stored text."""
    module = ast.parse(source)
    docstring = module.body[0]
    assert isinstance(docstring, ast.Expr) and isinstance(docstring.value, ast.Constant)
    docstring.value.value = ""
    return ast.dump(module)


@pytest.mark.parametrize("text", [*HOSTILE, "\ud800 a lone surrogate"])
def test_stored_text_in_the_module_is_data(text: str) -> None:
    loss = TreeLoss(parse(TREES[1]))
    benign = loss_module_source(loss, source="study 'tiny'")
    hostile = loss_module_source(loss, source=f"study {text!r} {text}")
    # Stored text is written as ASCII: every non-ASCII character comes from the template or the
    # formula rendered from the parsed loss, which the benign module has too.
    assert {c for c in hostile if not c.isascii()} <= set(benign)
    assert _without_docstring(hostile) == _without_docstring(benign)
    docstring = ast.get_docstring(ast.parse(hostile))
    assert docstring is not None
    assert all(line.isprintable() for line in docstring.splitlines())


def _tree_study(url: str, name: str, *, formula: str, tree: str = TREES[1]) -> None:
    study = create_study(tiny_spec(name), url)
    study.add_trial(optuna.trial.create_trial(
        value=0.99, user_attrs={"loss_tree": tree, "loss_formula": formula}
    ))


def test_export_of_studies_with_hostile_names_and_attrs(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    _tree_study(sqlite_url, "tiny", formula="log(y)")
    assert main(["export", "--study", "tiny", "--storage", sqlite_url, "--out", "benign.py"]) == 0
    benign = (tmp_path / "benign.py").read_text()
    names = set(vars(_import(tmp_path / "benign.py")))
    for k, text in enumerate(HOSTILE):
        # Names with control characters are refused where they enter (tests/cli/test_bad_input.py);
        # printable hostile names, and every hostile formula, reach the module.
        name = text if text.isprintable() else f"hostile-{k}"
        _tree_study(sqlite_url, name, formula=text)
        out = tmp_path / f"hostile{k}.py"
        assert main(["export", "--study", name, "--storage", sqlite_url, "--out", out.name]) == 0
        capsys.readouterr()
        hostile = out.read_text()
        compile(hostile, out.name, "exec")
        assert _without_docstring(hostile) == _without_docstring(benign), text
        # Importing it defines what the template defines and does nothing else.
        module = _import(out)
        assert set(vars(module)) == names
        assert TreeLoss(parse(TREES[1])).formula() == module.FORMULA
        assert capsys.readouterr() == ("", "")
        assert not (tmp_path / "PWNED").exists()


def test_export_of_a_stored_tree_that_does_not_parse_is_a_user_error(
    tmp_path: Path, sqlite_url: str, capsys
) -> None:
    _tree_study(sqlite_url, "tiny", formula="log(y)", tree='"""; import os; """')
    out = tmp_path / "x.py"
    assert main(["export", "--study", "tiny", "--storage", sqlite_url, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "stored loss tree ('loss_tree') is not a loss tree: Unexpected character '\"'" in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()
