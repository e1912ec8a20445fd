"""Export a found loss as a small standalone Python module that depends on torch only.

``optuna-glo export --study NAME --storage URL --out my_loss.py`` writes a module with a
``FoundLoss(nn.Module)``, a drop-in for ``torch.nn.CrossEntropyLoss``::

    from my_loss import FoundLoss
    criterion = FoundLoss()               # instead of nn.CrossEntropyLoss()
    loss = criterion(model(images), labels)

The module computes exactly what the project's loss computes, operation for operation, so a
model trained with it is the model trained with the project's loss. Expression trees become
Python expressions generated from the parsed tree (only the grammar's operators and numbers),
never from stored text.

Stored text (the study name, which a shared database can hold with any characters) is data in the
module, never code: in the docstring it is escaped to printable ASCII with every quote and
backslash escaped (``_docstring_text``), and ``FORMULA`` is an ``ascii()`` literal.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from optuna_glo.losses import ClassificationLoss, TaylorGLOLoss, readable_formula
from optuna_glo.reports._module_text import (
    PRELUDE,
    REDUCE_BATCH,
    REDUCTION_CHECK,
    docstring_text,
    taylor_body_source,
    taylor_terms_source,
)
from optuna_glo.reports.export_schedule import export_schedule
from optuna_glo.reports.lineage import is_population_study

if TYPE_CHECKING:
    import optuna

    from optuna_glo.losses.trees import Node

_HEADER = '''"""{title}

Exported by optuna-glo {version} from {source}.

    {readable}

xᵢ is the one-hot target, yᵢ = softmax(logits)ᵢ the prediction, n the number of classes (GLO
section III-A); coefficients are rounded and terms that cannot change the gradient are left out
(FORMULA below is exact). Depends on torch only. A drop-in for torch.nn.CrossEntropyLoss::

    from {module} import FoundLoss
    criterion = FoundLoss()
    loss = criterion(model(inputs), labels)   # labels: class indices, or one-hot rows
"""

{prelude}

class FoundLoss(nn.Module):
    """L(x, y) = {outer} f(x_i, y_i), averaged over the batch (``reduction="mean"``)."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
{reduction_check}{init}
    def pointwise(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """f(x, y) elementwise."""
{pointwise}
    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        x = _one_hot(target, logits)
        y = torch.softmax(logits, dim=-1)
        per_sample = -self.pointwise(x, y).{combine}(dim=-1)
{reduce_batch}
    def extra_repr(self) -> str:
        return f"reduction={{self.reduction!r}}"
'''


def _taylor_parts(loss: TaylorGLOLoss) -> tuple[str, str]:
    if loss.theta.dim() != 1:
        raise ValueError("`loss` must be one TaylorGLO loss, not a population of them.")
    theta = [float(v) for v in loss.theta.tolist()]
    where = "TaylorGLO eq. 5" if loss.form == "eq5" else "TaylorGLO in the authors' code's form"
    init = (
        f"        # {where}: centre (theta_0, theta_1), then one coefficient per term.\n"
        f"        theta = {theta!r}\n"
        "        dtype = torch.get_default_dtype()\n"
        '        self.register_buffer("theta", torch.tensor(theta, dtype=dtype))\n'
        + taylor_terms_source(loss.order, loss.form)
    )
    pointwise = taylor_body_source(loss.order, "self.theta")
    return init, pointwise


def tree_expression(tree: Node) -> str:
    """Python source of a tree's value, mirroring ``losses.trees.evaluate`` operation for
    operation. Built from the parsed nodes: only fixed operators, ``x``, ``y`` and numbers."""
    from optuna_glo.losses.trees import CONST

    op = tree.op
    if op in ("x", "y"):
        out = op
    elif op == CONST:
        out = f"torch.tensor({float(int(tree.value))!r}, dtype=x.dtype, device=x.device)"
    else:
        args = [tree_expression(child) for child in tree.children]
        if op == "log":
            out = f"_safe_log({args[0]})"
        elif op == "sqrt":
            out = f"_safe_sqrt({args[0]})"
        elif op == "sq":
            out = f"torch.square({args[0]})"
        elif op in ("+", "-", "*"):
            out = f"({args[0]} {op} {args[1]})"
        elif op == "/":
            out = f"_safe_div({args[0]}, {args[1]})"
        else:  # pragma: no cover - Node validates its op
            raise ValueError(f"Unknown tree operator {op!r}.")
    coefficient = float(tree.coefficient)
    if not math.isfinite(coefficient):  # pragma: no cover - Node validates it
        raise ValueError(f"A tree coefficient must be finite. It is {coefficient}.")
    return out if coefficient == 1.0 else f"({coefficient!r} * {out})"


def _tree_parts(tree: Node) -> tuple[str, str]:
    pointwise = (
        f"        out = {tree_expression(tree)}\n"
        "        return out.expand_as(x) if out.shape != x.shape else out\n"
    )
    return "", pointwise


def _is_tree_loss(loss: ClassificationLoss) -> bool:
    from optuna_glo.losses.trees import TreeLoss

    return isinstance(loss, TreeLoss)


def loss_module_source(
    loss: ClassificationLoss, *, source: str = "a loss", module: str = "my_loss"
) -> str:
    """The text of a standalone module with ``FoundLoss``, equal to ``loss``.

    Args:
        loss: A TaylorGLO loss or an expression-tree loss.
        source: Where the loss came from (for the module's docstring).
        module: The module's import name (for the usage example in its docstring).
    """
    from optuna_glo import __version__

    outer, combine = "-(1/n) * sum_i", "mean"  # GLO III-A: the mean over the n classes
    if isinstance(loss, TaylorGLOLoss):
        init, pointwise = _taylor_parts(loss)
        title = f"A TaylorGLO loss (order {loss.order}, {loss.form} form) found by optuna-glo."
        if loss.form == "code":  # the authors' code sums over the classes (losses._taylor)
            outer, combine = "-sum_i", "sum"
    elif _is_tree_loss(loss):
        init, pointwise = _tree_parts(loss.tree)  # type: ignore[arg-type]
        title = "A GLO expression-tree loss found by optuna-glo."
    else:
        raise ValueError(
            f"`loss` must be a TaylorGLO or expression-tree loss to export. It is a "
            f"{type(loss).__name__}."
        )
    formula = loss.formula()
    return _HEADER.format(
        title=docstring_text(title), version=docstring_text(__version__),
        source=docstring_text(source),
        readable=docstring_text(readable_formula(loss), limit=100_000, unicode=True),
        module=docstring_text(module), init=init, reduction_check=REDUCTION_CHECK,
        reduce_batch=REDUCE_BATCH,
        prelude=PRELUDE.format(formula_literal=ascii(formula)),
        pointwise=pointwise, outer=outer, combine=combine,
    )


def module_path(out: str | Path) -> Path:
    """``out`` as the path of a module to write: a ``.py`` file named like a Python identifier."""
    path = Path(out)
    if path.suffix != ".py" or not path.stem.isidentifier():
        raise ValueError(
            f"`out` must be a .py file whose name is a Python identifier (e.g. my_loss.py). "
            f"The specified `out` is {str(out)!r}."
        )
    return path


def export_loss(
    loss: ClassificationLoss, out: str | Path, *, source: str = "a loss"
) -> Path:
    """Write :func:`loss_module_source` to ``out`` (a ``.py`` file); return its path."""
    path = module_path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(loss_module_source(loss, source=source, module=path.stem), encoding="utf-8")
    return path


def export_study(study: optuna.Study, out: str | Path, *, trial_number: int | None = None) -> Path:
    """Export the best loss of ``study`` (or of trial ``trial_number``) to ``out``; for an EPBT
    or PBT study, the loss schedule of that trial's lineage
    (:func:`~optuna_glo.reports.export_schedule.export_schedule`)."""
    from optuna_glo.suggest import best_trial, load_loss

    if trial_number is None:
        trial = best_trial(study)
    else:
        matches = [t for t in study.get_trials(deepcopy=False) if t.number == trial_number]
        if not matches:
            raise ValueError(
                f"`trial_number` {trial_number} is not a trial of study {study.study_name!r}."
            )
        trial = matches[0]
    value = f", validation accuracy {trial.value:.4f}" if trial.value is not None else ""
    source = f"study {study.study_name!r}, trial {trial.number}{value}"
    if is_population_study(study):
        return export_schedule(study, trial, module_path(out))
    return export_loss(load_loss(trial), out, source=source)
