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

from optuna_glo.losses import (
    ClassificationLoss,
    TaylorGLOLoss,
    readable_formula,
    taylor_terms,
    term_factorials,
)

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

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

FORMULA = {formula_literal}

#: Smallest prediction used where the loss takes log(y), sqrt(y) or divides by y.
EPS = 1e-7


def _one_hot(target: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    if target.dtype in (torch.int64, torch.int32, torch.int16, torch.uint8):
        if target.shape != logits.shape[:-1]:
            raise ValueError(
                f"Class-index `target` must have shape {{tuple(logits.shape[:-1])}}; "
                f"it has shape {{tuple(target.shape)}}."
            )
        return F.one_hot(target.long(), logits.shape[-1]).to(logits.dtype)
    if target.shape != logits.shape:
        raise ValueError(
            f"One-hot `target` must have the logits' shape {{tuple(logits.shape)}}; "
            f"it has shape {{tuple(target.shape)}}."
        )
    return target.to(logits.dtype)


def _safe_log(a: torch.Tensor) -> torch.Tensor:
    return torch.log(a.clamp_min(EPS))


def _safe_sqrt(a: torch.Tensor) -> torch.Tensor:
    return torch.sqrt(a.clamp_min(EPS))


def _safe_div(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    sign = torch.where(b < 0, -1.0, 1.0).to(b.dtype)
    return a / (sign * b.abs().clamp_min(EPS))


class FoundLoss(nn.Module):
    """L(x, y) = {outer} f(x_i, y_i), averaged over the batch (``reduction="mean"``)."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(
                f"`reduction` must be 'mean', 'sum' or 'none'. It is {{reduction!r}}."
            )
        self.reduction = reduction
{init}
    def pointwise(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """f(x, y) elementwise."""
{pointwise}
    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        x = _one_hot(target, logits)
        y = torch.softmax(logits, dim=-1)
        per_sample = -self.pointwise(x, y).{combine}(dim=-1)
        if self.reduction == "mean":
            return per_sample.mean(dim=-1)
        if self.reduction == "sum":
            return per_sample.sum(dim=-1)
        return per_sample

    def extra_repr(self) -> str:
        return f"reduction={{self.reduction!r}}"
'''


def _docstring_text(text: str, *, limit: int = 300, unicode: bool = False) -> str:
    r"""``text`` written so that it stands inside the module's triple-quoted docstring as data.

    Printable ASCII stays as it is, except ``"`` and ``\``, which are escaped; every other
    character (line breaks, terminal escapes, bidi controls, U+2028, non-ASCII letters) is written
    as its escape sequence with the backslash escaped, so the docstring shows ``\x1b`` rather than
    holding an ESC. No value can close the docstring or start a line of code. At most ``limit``
    characters of ``text`` are written. With ``unicode``, printable non-ASCII characters
    (``str.isprintable``: the readable formula's subscripts and signs) stay as they are.
    """
    shown = text if len(text) <= limit else text[:limit] + "..."
    out = []
    for char in shown:
        if char in '"\\':
            out.append("\\" + char)
        elif " " <= char <= "~" or (unicode and char.isprintable()):
            out.append(char)
        else:
            out.append(ascii(char)[1:-1].replace("\\", "\\\\"))
    return "".join(out)


def _taylor_parts(loss: TaylorGLOLoss) -> tuple[str, str]:
    if loss.theta.dim() != 1:
        raise ValueError("`loss` must be one TaylorGLO loss, not a population of them.")
    theta = [float(v) for v in loss.theta.tolist()]
    terms = taylor_terms(loss.order)
    if loss.form == "eq5":
        scales = [1.0 / divisor for divisor in term_factorials(loss.order)]
        where = "TaylorGLO eq. 5"
        scale_doc = "1 / (a! b!) (eq. 3)"
    else:
        scales = [1.0] * len(terms)
        where = "TaylorGLO in the authors' code's form"
        scale_doc = "1 (no 1 / (a! b!) in this form)"
    init = (
        f"        # {where}: centre (theta_0, theta_1), then one coefficient per term.\n"
        f"        theta = {theta!r}\n"
        "        dtype = torch.get_default_dtype()\n"
        '        self.register_buffer("theta", torch.tensor(theta, dtype=dtype))\n'
        f"        #: (a, b) powers of (x - theta_0) and (y - theta_1), and {scale_doc}.\n"
        f"        self.terms = {terms!r}\n"
        f"        self.scales = {scales!r}\n"
    )
    pointwise = (
        "        coeffs = self.theta.to(y.dtype).unbind(-1)\n"
        "        dx = x - coeffs[0]\n"
        "        dy = y - coeffs[1]\n"
        "        dx_pows = [torch.ones_like(dx), dx]\n"
        "        dy_pows = [torch.ones_like(dy), dy]\n"
        f"        for _ in range(2, {loss.order} + 1):\n"
        "            dx_pows.append(dx_pows[-1] * dx)\n"
        "            dy_pows.append(dy_pows[-1] * dy)\n"
        "        out = torch.zeros_like(y)\n"
        "        for coeff, scale, (a, b) in zip(coeffs[2:], self.scales, self.terms):\n"
        "            out = out + (coeff * scale) * dx_pows[a] * dy_pows[b]\n"
        "        return out\n"
    )
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
        title=_docstring_text(title), version=_docstring_text(__version__),
        source=_docstring_text(source),
        readable=_docstring_text(readable_formula(loss), limit=100_000, unicode=True),
        module=_docstring_text(module), formula_literal=ascii(formula), init=init,
        pointwise=pointwise, outer=outer, combine=combine,
    )


def export_loss(
    loss: ClassificationLoss, out: str | Path, *, source: str = "a loss"
) -> Path:
    """Write :func:`loss_module_source` to ``out`` (a ``.py`` file); return its path."""
    path = Path(out)
    if path.suffix != ".py" or not path.stem.isidentifier():
        raise ValueError(
            f"`out` must be a .py file whose name is a Python identifier (e.g. my_loss.py). "
            f"The specified `out` is {str(out)!r}."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(loss_module_source(loss, source=source, module=path.stem), encoding="utf-8")
    return path


def export_study(study: optuna.Study, out: str | Path, *, trial_number: int | None = None) -> Path:
    """Export the best loss of ``study`` (or of trial ``trial_number``) to ``out``."""
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
    return export_loss(load_loss(trial), out, source=source)
